// What /health reports: each component (database, each chain's scanner, webhook worker) sets its
// own status; the engine is healthy when none is down. A halted chain (a reorg past
// reorgDepthMax) is `down` and names why, so an operator sees it without reading logs.

export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string | undefined;
  /** When the component entered this status and detail: an ISO 8601 time, not a duration. */
  since: string;
}

export interface Health {
  set(component: string, status: HealthStatus, detail?: string): void;
  remove(component: string): void;
  snapshot(): { status: HealthStatus; components: Record<string, ComponentHealth> };
}

export function createHealth(nowMs: () => number): Health {
  const components = new Map<string, ComponentHealth>();
  return {
    set(component, status, detail) {
      const current = components.get(component);
      if (current?.status === status && current.detail === detail) return;
      components.set(component, { status, detail, since: new Date(nowMs()).toISOString() });
    },
    remove(component) {
      components.delete(component);
    },
    snapshot() {
      let status: HealthStatus = 'ok';
      for (const c of components.values()) {
        if (c.status === 'down') status = 'down';
        else if (c.status === 'degraded' && status === 'ok') status = 'degraded';
      }
      return { status, components: Object.fromEntries(components) };
    },
  };
}
