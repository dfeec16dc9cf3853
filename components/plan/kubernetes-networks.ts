/**
 * The Kubernetes pod and service networks kubedos uses. The pod subnet is the conventional
 * 10.244.0.0/16. The service subnet is 10.96.0.0/16, not kubeadm's 10.96.0.0/12: the /12 spans
 * 10.96–10.111 and swallows plane CIDRs people actually use (10.101.0.0/24, 10.111.0.0/24), and
 * a /16 keeps the well-known addresses (API 10.96.0.1, DNS 10.96.0.10) with room for 65k Services.
 */
/** Host index of the Hetzner API load balancer on the private network (.1 is Hetzner's gateway). */
export const LOAD_BALANCER_HOST_INDEX = 3;
/**
 * Where a control plane answers the load balancer's health check (HTTP GET /healthz): HAProxy
 * reports whether this node's API server is up, which a TCP check on 6443 could not tell.
 */
export const API_HEALTH_PORT = 6444;

export const DEFAULT_POD_SUBNET = "10.244.0.0/16";
export const DEFAULT_SERVICE_SUBNET = "10.96.0.0/16";
