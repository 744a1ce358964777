import { describe, expect, it } from "vitest";
import { FakeUnitManager } from "./testing/fake-manager.js";
import { UnitStateCache } from "./unit-cache.js";

const UNITS = ["kubelet.service", "etcd.service", "containerd.service"];

describe("UnitStateCache", () => {
  it("answers any number of concurrent readers from one systemctl show", async () => {
    const manager = new FakeUnitManager(["kubelet.service"]);
    const cache = new UnitStateCache(manager, UNITS, 10_000);
    const all = await Promise.all(Array.from({ length: 500 }, () => cache.states()));
    expect(manager.stateReads).toBe(1);
    expect(all[499]?.map((s) => [s.name, s.loadState])).toEqual([
      ["kubelet.service", "loaded"],
      ["etcd.service", "not-found"],
      ["containerd.service", "not-found"],
    ]);
    expect((await cache.states(["containerd.service", "kubelet.service"])).map((s) => s.name)).toEqual([
      "containerd.service",
      "kubelet.service",
    ]);
    expect(manager.stateReads).toBe(1);
  });

  it("asks again once its answer is older than the interval, or after a change", async () => {
    const manager = new FakeUnitManager(["kubelet.service"]);
    const cache = new UnitStateCache(manager, UNITS, 50);
    await cache.states();
    await new Promise((r) => setTimeout(r, 80));
    await cache.states();
    expect(manager.stateReads).toBe(2);
    await manager.queueStop("kubelet.service");
    cache.invalidate();
    expect((await cache.states(["kubelet.service"]))[0]?.activeState).toBe("inactive");
    expect(manager.stateReads).toBe(3);
  });

  it("does not keep a failure", async () => {
    const manager = new FakeUnitManager([]);
    let fail = true;
    const states = manager.states.bind(manager);
    manager.states = (u) => (fail ? Promise.reject(new Error("systemctl: bus busy")) : states(u));
    const cache = new UnitStateCache(manager, UNITS, 10_000);
    await expect(cache.states()).rejects.toThrow("bus busy");
    fail = false;
    expect(await cache.states()).toHaveLength(3);
  });

  it("lets a reader stop waiting without failing the others", async () => {
    const manager = new FakeUnitManager([]);
    const states = manager.states.bind(manager);
    manager.states = async (u) => {
      await new Promise((r) => setTimeout(r, 100));
      return states(u);
    };
    const cache = new UnitStateCache(manager, UNITS, 10_000);
    const ac = new AbortController();
    const quitter = cache.states(undefined, ac.signal);
    const stayer = cache.states();
    ac.abort(new Error("client went away"));
    await expect(quitter).rejects.toThrow("client went away");
    expect(await stayer).toHaveLength(3);
    expect(manager.stateReads).toBe(1);
  });
});
