import { readTlsFiles, type Logger, type StartOnBoot, type TlsMaterial } from "../../../shared/index.js";
import { AgentPool } from "../../agents/index.js";
import type { CompiledCoordinatorConfig, CompiledPageConfig } from "../../config.js";
import type { ReportStore } from "../store.js";
import { loadPageAssets } from "./assets.js";
import { StatusFeed } from "./feed.js";
import { isEtcdMember } from "../../plan/index.js";
import { agentAddress, pageNodeNames } from "./model.js";
import { AgentProber } from "./probe.js";
import { startPageServer } from "./server.js";

export { loginHint, TOKEN_COOKIE, type Viewer } from "./server.js";
export { pageState, type PageState } from "./model.js";
export { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, rotateTokenKey, signToken, tokenKey } from "./token.js";
export { pageAssetSources } from "./assets.js";

/** How often the etcd members are asked, at most (see AgentProber). */
const ETCD_EVERY_MS = 5000;

/** How often the feed looks at the journals while someone watches: a step's start shows within this. */
const FEED_MS = 1000;

/** A running status page. */
export interface StatusPage {
  readonly port: number;
  /** Something serve knows changed (a report stored, the armed start decided): make a frame now. */
  changed(): void;
  /** Serves a reloaded identity from the next handshake on. */
  updateTls(tls: TlsMaterial): void;
  stop(): Promise<void>;
}

/** Starts the status page of `kubecycle serve` (see server.ts): probes, the frame feed, the HTTPS server. */
export async function startStatusPage(opts: {
  config: Readonly<CompiledCoordinatorConfig>;
  page: CompiledPageConfig;
  /** serve's identity (its certificate and key, the cluster's CA). */
  tls: TlsMaterial;
  store: ReportStore;
  startOnBoot: () => StartOnBoot | undefined;
  log: Logger;
}): Promise<StatusPage> {
  const { config, page, store, log } = opts;
  // The probes ask with the coordinator's own client certificate, as `kubecycle status` does.
  const client = await readTlsFiles(config.agents.tls, "agents.tls");
  const deadlineMs = Math.min(config.agents.callTimeoutMs, Math.max(3000, page.probeMs * 2));
  const agents = new AgentPool({ tls: client, port: config.agents.port, unreachableMs: deadlineMs });
  const feed: StatusFeed = new StatusFeed({
    cluster: config.cluster,
    stateDir: config.stateDir,
    store,
    probes: () => prober.states,
    startOnBoot: opts.startOnBoot,
    log,
  });
  const prober: AgentProber = new AgentProber({
    agents,
    log: log.child({ component: "page-probe" }),
    intervalMs: page.probeMs,
    deadlineMs,
    etcdEveryMs: Math.max(ETCD_EVERY_MS, page.probeMs),
    targets: async () => {
      const inv = await feed.readInventory();
      return pageNodeNames(inv, store.all()).flatMap((node) => {
        const address = agentAddress(node, inv, config.nodes, store.get(node));
        const known = inv?.nodes.find((n) => n.name === node);
        // A node the inventory knows without etcd is not asked about it; one it does not know is.
        const etcd = known ? isEtcdMember(known) || known.etcd.mode !== "none" : true;
        return address ? [{ node, address, etcd }] : [];
      });
    },
    onRound: () => void feed.refresh(),
  });
  let ticker: NodeJS.Timeout | undefined;
  const server = await startPageServer(
    {
      tls: opts.tls,
      address: page.address,
      port: page.port,
      stateDir: config.stateDir,
      feed,
      log: log.child({ component: "page" }),
      watch: () => {
        const release = prober.watch();
        ticker ??= setInterval(() => void feed.refresh(), FEED_MS);
        return () => {
          release();
          if (feed.subscribers === 0 && ticker) {
            clearInterval(ticker);
            ticker = undefined;
          }
        };
      },
    },
    await loadPageAssets(),
  );
  return {
    port: server.port,
    changed: () => {
      if (feed.subscribers > 0) void feed.refresh();
    },
    updateTls: (tls) => server.updateTls(tls),
    async stop() {
      if (ticker) clearInterval(ticker);
      await server.close();
      await prober.stop();
      agents.closeAll();
    },
  };
}
