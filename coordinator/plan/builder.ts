import { PLAN_VERSION, type InventoryNode, type Phase, type Plan, type Step, type StepAction } from "./types.js";

/** A step before its phase gives it an id; node null: not on a node; undefined: the builder's default node. */
export type StepDraft = Omit<Step, "id" | "node"> & { node?: string | null };

/** A step of a plan, in words: what, how long it may take, how its success is checked, and where. */
export function step(action: StepAction, timeoutMs: number, check: string, node?: string | null): StepDraft {
  return { action, timeoutMs, check, ...(node === undefined ? {} : { node }) };
}

/** One step per node, each on its node. */
export const onEach = (nodes: readonly InventoryNode[], draft: (n: InventoryNode) => StepDraft): StepDraft[] =>
  nodes.map((n) => ({ ...draft(n), node: n.name }));

export const stopUnits = (units: string[]): StepAction => ({ kind: "stop-units", units, ignoreMissing: [] });
export const startUnits = (units: string[], noBlock = false): StepAction => ({
  kind: "start-units",
  units,
  ignoreMissing: [],
  noBlock,
});

/**
 * Builds a plan phase by phase. A step's id is "<phase>/<kind>/<node>": unique within the plan (a phase runs a kind
 * at most once per node), and stable, so the agent operation ids derived from it replay on resume.
 */
export class PlanBuilder {
  readonly #phases: Phase[] = [];
  readonly #target: string;
  readonly #defaultNode: string | undefined;

  /** `defaultNode`: the node of steps that name none (a node procedure's node). */
  constructor(target: string, opts: { defaultNode?: string } = {}) {
    this.#target = target;
    this.#defaultNode = opts.defaultNode;
  }

  /** Adds a phase; a phase without steps is left out. */
  phase(name: string, title: string, steps: StepDraft[]): this {
    if (steps.length === 0) return this;
    this.#phases.push({
      name,
      title,
      steps: steps.map((s) => {
        const node = s.node === null ? undefined : (s.node ?? this.#defaultNode);
        return { ...s, node, id: [name, s.action.kind, node].filter(Boolean).join("/") };
      }),
    });
    return this;
  }

  build(procedure: string): Plan {
    const ids = this.#phases.flatMap((p) => p.steps.map((s) => s.id));
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) throw new Error(`plan ${procedure} ${this.#target}: step id ${dup} twice`);
    return { version: PLAN_VERSION, procedure, target: this.#target, phases: this.#phases };
  }
}
