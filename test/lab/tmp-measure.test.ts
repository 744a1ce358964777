import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { bootSystemdNode } from "./systemd-node.js";
it("measure", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kc-measure-"));
  const units = {
    "notifier.service": `[Service]\nType=notify\nNotifyAccess=all\nExecStart=/bin/sh -c 'systemd-notify --ready; exec sleep infinity'\n[Install]\nWantedBy=multi-user.target\n`,
  };
  for (let i = 0; i < 6; i++) {
    const t0 = Date.now();
    const n = await bootSystemdNode({
      name: "kc-measure",
      stateDir: dir,
      unitFiles: units,
      enable: i % 2 ? ["notifier.service"] : [],
    });
    const t1 = Date.now();
    await n.shutdown();
    console.log(`boot ${n.bootMs} ms (call ${t1 - t0} ms), shutdown ${Date.now() - t1} ms, enable=${i % 2}`);
  }
  await rm(dir, { recursive: true });
}, 60000);
