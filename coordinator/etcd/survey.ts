import type { EtcdMemberStatus__Output } from "../../shared/index.js";
import type { AgentPool, CallOptions } from "../agents/index.js";
import type { ProbeTimeouts } from "../config.js";
import type { Inventory } from "../inventory.js";
import { isEtcdMember, type EtcdMemberRecord, type InventoryNode } from "../plan/index.js";
import { memberLabel, type MemberHealth } from "./quorum.js";

function health(member: EtcdMemberRecord, st: EtcdMemberStatus__Output, via?: string): MemberHealth {
  const error = st.healthy ? undefined : st.healthError || st.statusError || "not healthy";
  return {
    member,
    healthy: st.healthy,
    ...(error ? { error: via ? `${error} (asked through ${via})` : error } : {}),
    ...(st.leaderId ? { leaderId: st.leaderId } : {}),
    raftIndex: st.raftIndex,
    raftAppliedIndex: st.raftAppliedIndex,
    ...(st.members.length > 0 && !st.membersError ? { memberIds: st.members.map((m) => m.id) } : {}),
  };
}

/**
 * Asks every member of the inventory's member list (but those on `excludingNodes`) how it is, concurrently: a member
 * on a node through that node's agent; an external member, or one whose own agent does not answer, through another
 * member node's agent (EtcdStatus with its member id). A member nobody could ask comes back unhealthy, named.
 */
export async function surveyMembers(opts: {
  agents: AgentPool;
  inventory: Inventory;
  excludingNodes?: readonly string[];
  timeouts: ProbeTimeouts;
  signal?: AbortSignal;
}): Promise<MemberHealth[]> {
  const excluded = new Set(opts.excludingNodes ?? []);
  const call: CallOptions = { deadlineMs: opts.timeouts.callMs, ...(opts.signal ? { signal: opts.signal } : {}) };
  const nodeOf = (name: string | undefined): InventoryNode | undefined =>
    opts.inventory.nodes.find((n) => n.name === name);
  const askers = opts.inventory.nodes.filter((n) => isEtcdMember(n) && n.agent === "ok" && !excluded.has(n.name));
  const members = opts.inventory.etcd.members.filter((m) => !m.node || !excluded.has(m.node));

  return Promise.all(
    members.map(async (member): Promise<MemberHealth> => {
      const failures: string[] = [];
      const own = nodeOf(member.node);
      if (own) {
        try {
          const st = await opts.agents.get(own.name, own.address).etcdStatus({ timeoutMs: opts.timeouts.etcdMs }, call);
          if (!st.isMember) return { member, healthy: false, error: `no etcd member answers on ${own.name}` };
          if (st.memberId && st.memberId !== member.id) {
            return {
              member,
              healthy: false,
              error: `the etcd on ${own.name} is member ${st.memberId}, not ${member.id} as the member list says`,
            };
          }
          return health(member, st);
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          failures.push((err as Error).message);
        }
      }
      for (const asker of askers.filter((a) => a.name !== member.node)) {
        try {
          const st = await opts.agents
            .get(asker.name, asker.address)
            .etcdStatus({ timeoutMs: opts.timeouts.etcdMs, memberId: member.id }, call);
          return health(member, st, asker.name);
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          failures.push(`through ${asker.name}: ${(err as Error).message}`);
        }
      }
      return {
        member,
        healthy: false,
        error: `${memberLabel(member)} could not be asked: ${failures.join("; ") || "no member node's agent answers"}`,
      };
    }),
  );
}
