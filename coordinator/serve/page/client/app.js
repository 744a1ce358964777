// The status page in the browser: one EventSource to serve's /events, each frame rendered with preact and htm
// (no build step: these files are served as they are). Every state is written in words; colours only repeat them.
import { h, render } from "./preact.js";
import { useEffect, useState } from "./preact-hooks.js";
import htm from "./htm.js";

const html = htm.bind(h);

/** "4s", "12m", "3h", "2d". */
function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function time(t) {
  if (!t) return "";
  const d = new Date(t);
  return Number.isNaN(d.getTime())
    ? ""
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
}

/** The tone of a state word: ok, warn, bad or idle. The word is always shown; the tone only colours it. */
const TONES = {
  reachable: "ok",
  live: "ok",
  settled: "ok",
  connecting: "busy",
  reconnecting: "warn",
  active: "ok",
  healthy: "ok",
  succeeded: "ok",
  done: "ok",
  running: "busy",
  activating: "busy",
  deactivating: "busy",
  starting: "busy",
  waiting: "busy",
  degraded: "warn",
  skipped: "idle",
  inactive: "idle",
  pending: "idle",
  "not installed": "idle",
  "not asked yet": "idle",
  unknown: "idle",
  stopped: "warn",
  interrupted: "warn",
  abandoned: "warn",
  unreachable: "bad",
  refused: "bad",
  error: "bad",
  failed: "bad",
  unhealthy: "bad",
  "no quorum": "bad",
};

function State({ word, title }) {
  return html`<span class="st st-${TONES[word] ?? "idle"}" title=${title ?? ""}>${word}</span>`;
}

const STEP_ICON = { pending: "·", running: "…", succeeded: "✓", failed: "✗", skipped: "–" };

function Operation({ op, now }) {
  if (!op)
    return html`<section id="operation">
      <h2>Operations</h2>
      <p>No operation has run yet.</p>
    </section>`;
  const running = op.result === "running";
  const since = Date.parse(op.startedAt);
  // One string: htm drops the spaces at line breaks inside a template.
  const meta = [
    op.op,
    `by ${op.by || "?"}`,
    `started ${time(op.startedAt)}${running && since ? ` (${age(now - since)} ago)` : ""}`,
    ...(op.finishedAt ? [`finished ${time(op.finishedAt)}`] : []),
  ].join(" · ");
  return html`<section id="operation" data-op=${op.op} data-result=${op.result}>
    <h2>${running ? "Operation in progress" : "Last operation"}</h2>
    <p class="op-head">
      <strong>${op.procedure} ${op.target}</strong> <${State} word=${op.result} />
      <span class="muted"> ${op.done} of ${op.total} steps done</span>
    </p>
    <p class="muted">${meta}</p>
    ${op.origin && html`<p>Started by ${op.origin.by}: ${op.origin.why}</p>`}
    ${op.reason && html`<p class="reason">${op.reason}</p>`}
    <ol class="phases">
      ${op.phases.map((ph) => {
        const open = ph.state === "running" || ph.state === "failed" || ph.state === "stopped";
        const finished = ph.steps.filter((s) => s.status === "succeeded" || s.status === "skipped").length;
        return html`<li class="phase" data-phase=${ph.name} data-state=${ph.state}>
          <span class="phase-title">${ph.title}</span> <${State} word=${ph.state} />
          <span class="muted"> ${finished}/${ph.steps.length}</span>
          ${
            open &&
            html`<ul class="steps">
              ${ph.steps.map(
                (s) =>
                  html`<li data-step=${s.id} data-status=${s.status}>
                    <span class="icon" aria-hidden="true">${STEP_ICON[s.status] ?? "?"}</span>
                    ${s.kind}${s.node ? html` <strong>${s.node}</strong>` : ""} <${State} word=${s.status} />
                    ${
                      s.status === "running" && s.startedAt
                        ? html`<span class="muted"> for ${age(now - Date.parse(s.startedAt))}</span>`
                        : ""
                    }
                    ${s.progress && html`<div class="muted progress">${s.progress}</div>`}
                    ${s.error && html`<div class="reason">${s.error}</div>`}
                  </li>`,
              )}
            </ul>`
          }
        </li>`;
      })}
    </ol>
  </section>`;
}

function Units({ node }) {
  if (node.units.length === 0) return html`<span class="muted">unknown</span>`;
  return html`<ul class="units">
    ${node.units
      .filter((u) => u.state !== "not installed")
      .map(
        (u) =>
          html`<li data-unit=${u.name} data-state=${u.state}>
            ${u.name}: <${State} word=${u.state} title=${`${u.sub}${u.enabled ? `, ${u.enabled}` : ""}`} />
            ${
              u.enabled && u.enabled !== "enabled" && u.enabled !== "static"
                ? html`<span class="muted"> (${u.enabled})</span>`
                : ""
            }
          </li>`,
      )}
  </ul>`;
}

function Nodes({ nodes, now }) {
  return html`<section id="nodes">
    <h2>Nodes</h2>
    ${
      nodes.length === 0
        ? html`<p>No node known yet: run <code>kubecycle status</code> once, or wait for the agents' reports.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>Node</th>
                <th>Agent</th>
                <th>Units</th>
                <th>etcd</th>
                <th>Boot</th>
                <th>Last report</th>
              </tr>
            </thead>
            <tbody>
              ${nodes.map(
                (n) =>
                  html`<tr data-node=${n.name} data-agent=${n.agent.state} data-boot-id=${n.boot?.id ?? ""}>
                    <td data-label="Node">
                      <strong>${n.name}</strong>
                      <div class="muted">${n.roles.join(", ")}</div>
                    </td>
                    <td data-label="Agent">
                      <${State} word=${n.agent.state} title=${n.agent.error ?? ""} />
                      ${n.agent.sinceUnixMs ? html`<div class="muted">for ${age(now - n.agent.sinceUnixMs)}</div>` : ""}
                      ${n.agent.error && html`<div class="muted small">${n.agent.error}</div>`}
                    </td>
                    <td data-label="Units">
                      ${
                        n.unitsStale && n.units.length > 0
                          ? html`<div class="muted small">
                              last
                              known${n.agent.lastAnswerUnixMs ? `, ${age(now - n.agent.lastAnswerUnixMs)} ago` : ""}:
                            </div>`
                          : ""
                      }
                      <${Units} node=${n} />
                    </td>
                    <td data-label="etcd">
                      ${
                        n.etcd
                          ? html`<${State}
                                word=${n.etcd.healthy ? "healthy" : "unhealthy"}
                                title=${n.etcd.error ?? ""}
                              />${n.etcd.leader ? " leader" : ""}`
                          : n.roles.includes("etcd")
                            ? html`<${State} word="unknown" />`
                            : html`<span class="muted">–</span>`
                      }
                    </td>
                    <td data-label="Boot">
                      ${
                        n.boot
                          ? html`<code class="boot-id" title=${n.boot.id}>${n.boot.id.slice(0, 8)}</code>
                              <div class="muted small">booted ${time(n.boot.bootedUnixMs)}</div>`
                          : html`<span class="muted">unknown</span>`
                      }
                    </td>
                    <td data-label="Last report">
                      ${
                        n.report
                          ? html`${age(now - n.report.receivedUnixMs)} ago
                              <div class="muted small">${n.report.reason}, agent ${n.report.agentVersion}</div>`
                          : html`<span class="muted">never</span>`
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function Etcd({ etcd }) {
  return html`<section id="etcd" data-state=${etcd.state}>
    <h2>etcd <${State} word=${etcd.state} /></h2>
    <p>Leader: ${etcd.leader ?? "none"}${etcd.note ? html` <span class="muted">(${etcd.note})</span>` : ""}</p>
    ${
      etcd.members.length > 0 &&
      html`<table>
        <thead>
          <tr>
            <th>Member</th>
            <th>Node</th>
            <th>Health</th>
            <th>Role</th>
            <th>Raft index</th>
          </tr>
        </thead>
        <tbody>
          ${etcd.members.map(
            (m) =>
              html`<tr data-member=${m.name}>
                <td data-label="Member">${m.name || m.id}</td>
                <td data-label="Node">${m.node ?? "outside the cluster"}</td>
                <td data-label="Health">
                  <${State} word=${m.healthy === null ? "unknown" : m.healthy ? "healthy" : "unhealthy"} />
                  ${m.error && html`<div class="muted small">${m.error}</div>`}
                </td>
                <td data-label="Role">${m.leader ? "leader" : m.learner ? "learner" : "follower"}</td>
                <td data-label="Raft index">${m.raftIndex ?? "?"}</td>
              </tr>`,
          )}
        </tbody>
      </table>`
    }
  </section>`;
}

function Recent({ recent }) {
  if (recent.length === 0) return null;
  return html`<section id="recent">
    <h2>Last operations</h2>
    <table>
      <thead>
        <tr>
          <th>Operation</th>
          <th>Result</th>
          <th>Started</th>
          <th>Finished</th>
          <th>By</th>
        </tr>
      </thead>
      <tbody>
        ${recent.map(
          (o) =>
            html`<tr data-op=${o.op}>
              <td data-label="Operation">
                ${o.procedure} ${o.target}
                <div class="muted small">${o.op}</div>
              </td>
              <td data-label="Result"><${State} word=${o.result} /></td>
              <td data-label="Started">${time(o.startedAt)}</td>
              <td data-label="Finished">${time(o.finishedAt) || "–"}</td>
              <td data-label="By">${o.by}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function Settle({ settle }) {
  if (!settle) return null;
  return html`<section id="settle">
    <h2>Settle report after the last start</h2>
    <p class="muted">${settle.op}${settle.finishedAt ? `, ${time(settle.finishedAt)}` : ""}</p>
    ${
      settle.unsettled.length === 0
        ? html`<p><${State} word="settled" /> all ${settle.pods} pods running.</p>`
        : html`<p>${settle.warning ?? `${settle.unsettled.length} pod(s) not running`}</p>
            <table>
              <thead>
                <tr>
                  <th>Pod</th>
                  <th>Node</th>
                  <th>State</th>
                  <th>Restarts</th>
                  <th>Last termination</th>
                </tr>
              </thead>
              <tbody>
                ${settle.unsettled.map(
                  (p) =>
                    html`<tr>
                      <td data-label="Pod">${p.pod}</td>
                      <td data-label="Node">${p.node || "–"}</td>
                      <td data-label="State">${p.phase}, ${p.reason}</td>
                      <td data-label="Restarts">${p.restarts}</td>
                      <td data-label="Last termination">${p.lastTermination ?? "–"}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
  </section>`;
}

function StartOnBoot({ sob }) {
  if (!sob) return null;
  return html`<section id="start-on-boot" class="banner">
    Start on boot (armed by ${sob.stopOperation}):
    <${State} word=${sob.state} /> ${sob.missing.length > 0 ? ` waiting for ${sob.missing.join(", ")}` : ""}
    <span class="muted">${sob.reason}</span>
  </section>`;
}

function App() {
  const [frame, setFrame] = useState(null);
  const [viewer, setViewer] = useState(null);
  const [link, setLink] = useState("connecting");
  const [skew, setSkew] = useState(0);
  const [, setTick] = useState(0);

  useEffect(() => {
    const es = new EventSource("/events");
    es.addEventListener("open", () => setLink("live"));
    es.addEventListener("viewer", (e) => setViewer(JSON.parse(e.data)));
    es.addEventListener("state", (e) => {
      const f = JSON.parse(e.data);
      // Ages are taken on serve's clock: a phone's clock may be off by minutes.
      setSkew(f.nowUnixMs - Date.now());
      setFrame(f);
      setLink("live");
    });
    es.addEventListener("expired", () => {
      es.close();
      setLink("signed out (the token expired)");
    });
    es.addEventListener("error", () => setLink(es.readyState === EventSource.CLOSED ? "signed out" : "reconnecting"));
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => {
      es.close();
      clearInterval(timer);
    };
  }, []);

  useEffect(() => {
    if (frame) document.title = `kubecycle: ${frame.cluster}`;
  }, [frame?.cluster]);

  const now = Date.now() + skew;
  const who = viewer
    ? viewer.via === "certificate"
      ? `${viewer.name} (${viewer.role} certificate)`
      : `token ${viewer.name}, expires ${time(viewer.expiresUnixMs)}`
    : "";
  return html`<header>
      <h1>kubecycle <span class="cluster">${frame ? frame.cluster : ""}</span></h1>
      <p class="link" data-link=${link}>
        updates:
        <${State} word=${link === "live" ? "live" : link} /> ${who && html`<span class="muted"> · ${who}</span>`}
      </p>
    </header>
    ${
      frame
        ? html`<main>
            <${StartOnBoot} sob=${frame.startOnBoot} />
            <${Operation} op=${frame.operation} now=${now} />
            <${Nodes} nodes=${frame.nodes} now=${now} />
            <${Etcd} etcd=${frame.etcd} />
            <${Settle} settle=${frame.settle} />
            <${Recent} recent=${frame.recent} />
            <footer class="muted small">
              Read-only. ${frame.inventory ? `Nodes from the inventory of ${time(frame.inventory.collectedAt)}. ` : ""}
              kubecycle status shows the same from a terminal.
            </footer>
          </main>`
        : html`<p class="loading">Waiting for the first update…</p>`
    }`;
}

render(html`<${App} />`, document.getElementById("app"));
