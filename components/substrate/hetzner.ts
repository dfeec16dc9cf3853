/**
 * Hetzner Cloud substrate (@pulumi/hcloud): a private network and subnet carrying the
 * WireGuard underlay, one spread placement group per failure domain, a default-deny firewall
 * (SSH and the control plane's WireGuard port only from the declared sources), the servers
 * with cloud-init, and a private load balancer for the Kubernetes API.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { reservedAddress } from "../plan/addressing";
import { parseCidr } from "../plan/ipv4";
import { API_HEALTH_PORT, LOAD_BALANCER_HOST_INDEX } from "../plan/kubernetes-networks";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { boundaryOpts, identityLabels } from "./options";
import type { SubstrateInputs, SubstrateNode, SubstrateResult } from "./types";

export { LOAD_BALANCER_HOST_INDEX };

export function createHetzner(stage: Stage, plan: Plan, spec: ClusterSpec, inputs: SubstrateInputs): SubstrateResult {
  const s = spec.spec.substrate;
  if (s.type !== "hetzner") throw new Error("createHetzner needs a hetzner substrate");
  const hz = s.hetzner;
  const name = plan.cluster.name;
  const labels = identityLabels(plan);
  const opts = (extra: pulumi.CustomResourceOptions = {}) => stage.childOpts(boundaryOpts(plan, extra));
  const closed = !plan.boundaries.allowDestroy;

  const network = new hcloud.Network(
    `${name}-net`,
    { name: `${name}-net`, ipRange: hz.network.cidr, labels, deleteProtection: closed },
    opts(),
  );
  const subnet = new hcloud.NetworkSubnet(
    `${name}-subnet`,
    { networkId: network.id.apply(Number), type: "cloud", networkZone: hz.networkZone, ipRange: hz.network.cidr },
    opts(),
  );

  const groups = new Map<string, hcloud.PlacementGroup>();
  for (const fd of [...new Set(plan.nodes.map((n) => n.failureDomain))].sort()) {
    groups.set(
      fd,
      new hcloud.PlacementGroup(
        `${name}-${fd}`,
        { name: `${name}-${fd}`, type: "spread", labels: { ...labels, "kubedos-fd": fd } },
        opts(),
      ),
    );
  }

  // Hetzner firewalls guard the public interface only; node-to-node traffic stays on the
  // private network. Inbound is deny-by-default: only these rules open anything.
  const controlPlane = plan.planes.find((p) => p.purpose === "control");
  const sources = plan.ssh.allowFrom;
  const rules: hcloud.types.input.FirewallRule[] = sources.length
    ? [
        { direction: "in", protocol: "tcp", port: "22", sourceIps: sources, description: "SSH from the declared operator sources" },
        ...(controlPlane
          ? [
              {
                direction: "in",
                protocol: "udp",
                port: String(controlPlane.port),
                sourceIps: sources,
                description: `WireGuard ${controlPlane.name} (operator peer)`,
              },
            ]
          : []),
      ]
    : [];
  const firewall = new hcloud.Firewall(`${name}-fw`, { name: `${name}-fw`, labels, rules }, opts());

  const nodes: SubstrateNode[] = plan.nodes.map((node) => {
    const server = new hcloud.Server(
      `${name}-${node.name}`,
      {
        name: `${name}-${node.name}`,
        serverType: node.role === "control-plane" ? hz.serverTypes.controlPlane : hz.serverTypes.worker,
        image: hz.image,
        location: node.placement.location!,
        placementGroupId: groups.get(node.failureDomain)!.id.apply(Number),
        firewallIds: [firewall.id.apply(Number)],
        networks: [{ networkId: network.id.apply(Number), ip: node.uplink!.address }],
        userData: inputs.userData(node),
        labels: { ...labels, "kubedos-node": node.name, "kubedos-role": node.role, "kubedos-fd": node.failureDomain },
        deleteProtection: closed,
        rebuildProtection: closed,
        shutdownBeforeDeletion: true,
      },
      // userData and image force a new server in hcloud; cloud-init runs once at first boot,
      // so a re-rendered user data or a new image never replaces a running node.
      opts({ dependsOn: [subnet], ignoreChanges: ["userData", "image", "sshKeys"], additionalSecretOutputs: ["userData"] }),
    );
    return {
      name: node.name,
      role: node.role,
      failureDomain: node.failureDomain,
      uplinkAddress: node.uplink!.address,
      ssh: { host: server.ipv4Address, port: 22, user: plan.ssh.allowUsers[0], hostKey: inputs.hostPublicKey(node) },
      machine: server,
    };
  });

  // The API load balancer lives on the private network only; operators reach it over wg1.
  const lbIp = reservedAddress(parseCidr(hz.network.cidr), LOAD_BALANCER_HOST_INDEX);
  const firstCp = plan.nodes.find((n) => n.role === "control-plane");
  const lb = new hcloud.LoadBalancer(
    `${name}-api`,
    {
      name: `${name}-api`,
      loadBalancerType: hz.loadBalancer.type,
      location: firstCp?.placement.location ?? hz.locations[0].name,
      labels,
      deleteProtection: closed,
    },
    opts(),
  );
  const lbNet = new hcloud.LoadBalancerNetwork(
    `${name}-api-net`,
    { loadBalancerId: lb.id.apply(Number), subnetId: subnet.id, ip: lbIp, enablePublicInterface: false },
    opts(),
  );
  nodes
    .filter((n) => n.role === "control-plane")
    .forEach((n) => {
      new hcloud.LoadBalancerTarget(
        `${name}-api-${n.name}`,
        {
          type: "server",
          loadBalancerId: lb.id.apply(Number),
          serverId: (n.machine as hcloud.Server).id.apply(Number),
          usePrivateIp: true,
        },
        opts({ dependsOn: [lbNet] }),
      );
    });
  new hcloud.LoadBalancerService(
    `${name}-api-6443`,
    {
      loadBalancerId: lb.id,
      protocol: "tcp",
      listenPort: 6443,
      destinationPort: 6443,
      // HAProxy on each control plane (kubernetes/converge.ts) answers /healthz with its local API
      // server's state; a TCP check on 6443 would pass whenever HAProxy itself is up.
      healthCheck: {
        protocol: "http",
        port: API_HEALTH_PORT,
        interval: 10,
        timeout: 5,
        retries: 3,
        http: { path: "/healthz", statusCodes: ["200"] },
      },
    },
    opts(),
  );
  return { nodes, apiEndpoint: lbIp };
}
