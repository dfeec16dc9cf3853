/**
 * Stage 3 — Backplanes Up (seed 001 §10, §14.1): every node's wg-quick(8) file per plane, and the
 * operator's file for the control plane, rendered from the Plan and the master seed by pure
 * functions (no Pulumi, no I/O, no clock: the rotation epoch is an input).
 *
 * A full mesh is O(N²) peer entries (500 nodes × 3 planes ≈ 750,000), so the expensive parts are
 * done once per (plan, seed, epoch, plane) rather than once per node:
 *   - every node's key pair on the plane (one HKDF + X25519 derivation per node and plane);
 *   - every node's [Peer] block on the plane (the block of peer P is the same text in the file of
 *     every other node), so a node's file is its [Interface] section plus the other blocks joined.
 * The cache is a WeakMap keyed by the Plan object, so it lives exactly as long as the Plan does and
 * holds no secret beyond it. The output is byte-identical to renderWgQuick (wg-quick.ts), which
 * stays the reference and is checked against it in the tests.
 */
import { createHash } from "node:crypto";
import type { Plan, PlanNode, PlanPlane } from "../plan/plan";
import { nodePlaneKey, operatorKey, type WgKeyPair } from "./keys";
import { KEEPALIVE_SECONDS, peerAllowedIps, renderOperatorConfig, renderWgQuick } from "./wg-quick";

export interface BackplaneFile {
  /** Relative path: `wireguard/<plane>.conf` for a node (under nodes/<node>/), `<plane>.conf` for the operator. */
  path: string;
  /** The plane the file configures (also the wg-quick interface name). */
  plane: string;
  content: string;
  /** Always 0o600: every file holds a private key. */
  mode: number;
  /** Always true: store as a secret, never log. */
  secret: true;
  /** Where wg-quick reads it on a node (absent for the operator's file). */
  nodePath?: string;
}

export interface BackplaneInput {
  plan: Plan;
  /** Master seed (secrets/derive.ts): at least 16 characters. */
  seed: string;
  /** WireGuard rotation epoch (keys.ts rotationEpoch, or pinned). */
  epoch: number;
}

export interface NodeBackplaneInput extends BackplaneInput {
  node: PlanNode;
}

/** Where wg-quick looks for `<plane>.conf` on a node. */
export const WG_QUICK_DIR = "/etc/wireguard";

/** One plane's derived material, shared by every node's file. */
interface PlaneMesh {
  plane: PlanPlane;
  /** Key pair of every node, by name (private keys included: secret). */
  keys: Map<string, WgKeyPair>;
  publicKeys: Map<string, string>;
  operator?: WgKeyPair;
  /** Nodes sorted by name (renderWgQuick's peer order) and each one's [Peer] block, same order. */
  sortedNames: string[];
  peerBlocks: string[];
  /** Index of each node in sortedNames. */
  index: Map<string, number>;
  /** The operator's [Peer] block (control plane only), appended to every node's file. */
  operatorBlock: string;
}

/** plan → "<sha256(seed)>/<epoch>" → plane name → mesh. */
const CACHE = new WeakMap<Plan, Map<string, Map<string, PlaneMesh>>>();

/** renderWgQuick's peer order: by name, code-unit order. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function checkInput({ plan, seed, epoch }: BackplaneInput): void {
  if (typeof seed !== "string" || seed.length < 16) throw new Error("the master seed must be at least 16 characters");
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`the WireGuard epoch must be a non-negative integer (got ${epoch})`);
  if (plan.planes.length === 0) throw new Error("the plan has no planes");
  for (const p of plan.planes) {
    if (!/^[a-z][a-z0-9]{0,14}$/.test(p.name)) throw new Error(`plane name ${JSON.stringify(p.name)} is not an interface name`);
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new Error(`plane ${p.name} has no WireGuard port (got ${p.port})`);
  }
}

function meshOf(plan: Plan, seed: string, epoch: number, plane: PlanPlane): PlaneMesh {
  let bySeed = CACHE.get(plan);
  if (!bySeed) CACHE.set(plan, (bySeed = new Map()));
  // The seed itself is not kept as a key: its digest identifies it.
  const seedKey = `${createHash("sha256").update(seed).digest("hex")}/${epoch}`;
  let byPlane = bySeed.get(seedKey);
  if (!byPlane) bySeed.set(seedKey, (byPlane = new Map()));
  const cached = byPlane.get(plane.name);
  if (cached) return cached;

  const cluster = plan.cluster.name;
  const keys = new Map<string, WgKeyPair>();
  const publicKeys = new Map<string, string>();
  for (const n of plan.nodes) {
    if (keys.has(n.name)) throw new Error(`node name ${n.name} appears twice in the plan`);
    const k = nodePlaneKey(seed, cluster, plane.name, n.name, epoch);
    keys.set(n.name, k);
    publicKeys.set(n.name, k.publicKey);
  }
  const sorted = [...plan.nodes].sort((a, b) => byName(a.name, b.name));
  // Exactly the [Peer] block renderWgQuick writes for each peer (the tests hold the two equal).
  const peerBlocks = sorted.map((peer) => {
    const endpoint = peer.uplink?.address ?? peer.placement.sshAddress;
    if (!endpoint) throw new Error(`peer ${peer.name} has no uplink address for its ${plane.name} endpoint`);
    const addr = peer.addresses[plane.name];
    if (!addr) throw new Error(`node ${peer.name} has no address on plane ${plane.name}`);
    return [
      `# ${peer.name} (${peer.role}, ${peer.failureDomain})`,
      "[Peer]",
      `PublicKey = ${publicKeys.get(peer.name)}`,
      `Endpoint = ${endpoint}:${plane.port}`,
      `AllowedIPs = ${peerAllowedIps(plan, plane, peer)}`,
      `PersistentKeepalive = ${KEEPALIVE_SECONDS}`,
      "",
    ].join("\n");
  });
  const operator = plane.reserved.operatorPeer ? operatorKey(seed, cluster, plane.name, epoch) : undefined;
  const operatorBlock = operator
    ? [
        "# operator peer (roams: no endpoint; it connects in)",
        "[Peer]",
        `PublicKey = ${operator.publicKey}`,
        `AllowedIPs = ${plane.reserved.operatorPeer}/32`,
        "",
      ].join("\n")
    : "";
  const mesh: PlaneMesh = {
    plane,
    keys,
    publicKeys,
    ...(operator ? { operator } : {}),
    sortedNames: sorted.map((n) => n.name),
    peerBlocks,
    index: new Map(sorted.map((n, i) => [n.name, i])),
    operatorBlock,
  };
  byPlane.set(plane.name, mesh);
  return mesh;
}

/**
 * `node`'s file on one plane. Equal to renderWgQuick(plan, node, plane, keys) byte for byte: the
 * [Interface] section comes from renderWgQuick itself (rendered for a plan without other nodes),
 * the peers from the shared blocks.
 */
function nodeFile(plan: Plan, node: PlanNode, mesh: PlaneMesh): string {
  const own = mesh.keys.get(node.name)!;
  const iface = renderWgQuick({ ...plan, nodes: [node] }, node, mesh.plane, { publicKeys: mesh.publicKeys, privateKey: own.privateKey });
  const i = mesh.index.get(node.name)!;
  // renderWgQuick joins lines with "\n" and each peer block ends in "" → every section ends "\n".
  // With no peers the interface section ends in "…Table = off\n" and the next block follows.
  const parts = [iface, "\n"];
  for (let k = 0; k < mesh.peerBlocks.length; k++) {
    if (k !== i) parts.push(mesh.peerBlocks[k], "\n");
  }
  if (mesh.operatorBlock) parts.push(mesh.operatorBlock, "\n");
  // The last "\n" separator is not in renderWgQuick's output (join, not terminate).
  return parts.join("").slice(0, -1);
}

/** Every plane's wg-quick file of `node` (mode 0600, secret), in plan plane order. */
export function renderNodeBackplane(input: NodeBackplaneInput): BackplaneFile[] {
  checkInput(input);
  const { plan, node, seed, epoch } = input;
  const own = plan.nodes.find((n) => n.name === node.name);
  if (!own) throw new Error(`node ${node.name} is not in the plan of cluster ${plan.cluster.name}; render only nodes of the plan`);
  return plan.planes.map((plane) => {
    const mesh = meshOf(plan, seed, epoch, plane);
    return {
      path: `wireguard/${plane.name}.conf`,
      plane: plane.name,
      content: nodeFile(plan, own, mesh),
      mode: 0o600,
      secret: true as const,
      nodePath: `${WG_QUICK_DIR}/${plane.name}.conf`,
    };
  });
}

/** The control plane: the plane that reserves an operator peer address. */
export function operatorPlane(plan: Plan): PlanPlane | undefined {
  return plan.planes.find((p) => p.reserved.operatorPeer);
}

/**
 * The operator's wg-quick file for the control plane (mode 0600, secret): every node as a peer at
 * its uplink endpoint. Undefined when the plan has no control plane (no operator peer address).
 */
export function renderOperator(input: BackplaneInput): BackplaneFile | undefined {
  checkInput(input);
  const { plan, seed, epoch } = input;
  const plane = operatorPlane(plan);
  if (!plane) return undefined;
  const mesh = meshOf(plan, seed, epoch, plane);
  return {
    path: `${plane.name}.conf`,
    plane: plane.name,
    content: renderOperatorConfig(plan, plane, mesh.operator!.privateKey, mesh.publicKeys),
    mode: 0o600,
    secret: true,
  };
}

/** Public keys of every node on `plane` (for acceptance checks and the Pulumi stage): derived once per plan, seed and epoch. */
export function planePublicKeys(input: BackplaneInput & { plane: string }): ReadonlyMap<string, string> {
  checkInput(input);
  const plane = input.plan.planes.find((p) => p.name === input.plane);
  if (!plane) throw new Error(`plane ${input.plane} is not in the plan`);
  return meshOf(input.plan, input.seed, input.epoch, plane).publicKeys;
}
