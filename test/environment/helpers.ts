/** Running one component's reconciler step by step, as successive applies of a resource would. */
import { strict as assert } from "node:assert";
import { statSync, readdirSync } from "node:fs";
import * as path from "node:path";
import type { Action } from "../../components/environment/diff";
import {
  canonicalJson,
  sha256,
  type AdapterByComponent,
  type Component,
  type ComponentProfile,
  type DesiredByComponent,
} from "../../components/environment/profile";
import { EMPTY_MANAGED, reconcile, type ApplyEvent, type Managed, type Port } from "../../components/environment/reconcile";

export const NODE = "cp-1";

export function profileOf<C extends Component>(
  component: C,
  adapter: AdapterByComponent[C],
  desired: DesiredByComponent[C],
  prune = false,
): ComponentProfile<C> {
  return { component, adapter, desired, prune, desiredHash: sha256(canonicalJson({ component, adapter, desired, prune })) };
}

/** Successive applies of one component: generation, managed set and previous event carried over. */
export class Runner<C extends Component> {
  generation = 0;
  managed: Managed;
  last?: ApplyEvent;
  lines: string[] = [];
  private lastHash?: string;

  constructor(
    readonly component: C,
    readonly adapter: AdapterByComponent[C],
    readonly port: () => Promise<Port>,
  ) {
    this.managed = EMPTY_MANAGED[component];
  }

  /** One apply; a new desired hash is a new generation (as the provider's update), an equal one a retry. */
  async apply(desired: DesiredByComponent[C], prune = false): Promise<ApplyEvent> {
    const profile = profileOf(this.component, this.adapter, desired, prune);
    if (profile.desiredHash !== this.lastHash) this.generation++;
    this.lastHash = profile.desiredHash;
    const port = await this.port();
    try {
      this.lines = [];
      const { event, managed } = await reconcile({
        profile,
        node: NODE,
        generation: this.generation,
        managed: this.managed,
        ...(this.last ? { previous: this.last } : {}),
        port,
        log: (l) => this.lines.push(l),
      });
      this.managed = managed;
      this.last = event;
      return event;
    } finally {
      await port.close();
    }
  }
}

export const objects = (actions: readonly Action[]): string[] => actions.map((a) => a.object).sort();

/** Assert an event made no mutation and skipped nothing new. */
export function assertIdempotent(e: ApplyEvent): void {
  assert.equal(e.idempotent, true, `expected no mutation; applied ${JSON.stringify(e.actions)}`);
  assert.deepEqual(e.actions, []);
}

/** Every file under `dir` with its inode, size and mtime: any write (all go through rename) changes it. */
export function fileSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const s = statSync(p);
      out[path.relative(dir, p)] = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}
