/** Add and remove Toxiproxy toxics through toxiproxy-node-client; whatever a test adds is removed after it. */
import { Toxiproxy, type Proxy, type ToxicType, type ICreateToxicBody } from 'toxiproxy-node-client';

/** `kafka` is the single broker's proxy; `kafka-1`…`kafka-3` are the nodes' of the KAFKA_NODES=3 cluster. */
export type ProxyName = 'postgres' | 'kafka' | 'kafka-1' | 'kafka-2' | 'kafka-3';

export interface ToxicSpec {
  type: ToxicType;
  attributes: Record<string, number>;
  stream?: 'upstream' | 'downstream';
  toxicity?: number;
  name?: string;
}

/** A toxic as Toxiproxy reports it (GET /proxies/<proxy>/toxics). */
export interface ToxicInfo {
  name: string;
  type: string;
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, number>;
}

export interface AddedToxic {
  proxy: ProxyName;
  name: string;
  remove(): Promise<void>;
}

let counter = 0;

export class ToxicHelper {
  readonly client: Toxiproxy;
  private readonly added: AddedToxic[] = [];
  private readonly disabled = new Set<ProxyName>();

  constructor(private readonly url: string) {
    this.client = new Toxiproxy(url);
  }

  proxy(name: ProxyName): Promise<Proxy> {
    return this.client.get(name);
  }

  async add(proxyName: ProxyName, spec: ToxicSpec): Promise<AddedToxic> {
    const proxy = await this.proxy(proxyName);
    const name = spec.name ?? `${spec.type}_${process.pid}_${++counter}`;
    const body: ICreateToxicBody<Record<string, number>> = {
      name,
      type: spec.type,
      stream: spec.stream ?? 'downstream',
      toxicity: spec.toxicity ?? 1,
      attributes: spec.attributes,
    };
    const toxic = await proxy.addToxic(body);
    const added: AddedToxic = {
      proxy: proxyName,
      name,
      remove: async () => {
        const i = this.added.indexOf(added);
        if (i >= 0) this.added.splice(i, 1);
        await toxic.remove().catch((err: unknown) => {
          if (!String(err).includes('404')) throw err;
        });
      },
    };
    this.added.push(added);
    return added;
  }

  /** Runs `fn` with the toxic in place and removes it afterwards, whatever happens. */
  async with<T>(proxyName: ProxyName, spec: ToxicSpec, fn: () => Promise<T>): Promise<T> {
    const t = await this.add(proxyName, spec);
    try {
      return await fn();
    } finally {
      await t.remove();
    }
  }

  async setEnabled(proxyName: ProxyName, enabled: boolean): Promise<void> {
    const proxy = await this.proxy(proxyName);
    await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
    if (enabled) this.disabled.delete(proxyName);
    else this.disabled.add(proxyName);
  }

  /** Removes every toxic this helper added and re-enables every proxy it disabled. */
  async cleanup(): Promise<void> {
    for (const t of [...this.added].reverse()) await t.remove();
    for (const p of [...this.disabled]) await this.setEnabled(p, true);
  }

  /** Removes a toxic by name, whoever added it; false when it was not there. */
  async removeByName(proxyName: ProxyName, name: string): Promise<boolean> {
    const res = await fetch(`${this.url}/proxies/${proxyName}/toxics/${encodeURIComponent(name)}`, { method: 'DELETE' });
    await res.arrayBuffer();
    if (res.status === 404) return false;
    if (!res.ok) throw new Error(`Toxiproxy DELETE /proxies/${proxyName}/toxics/${name} → ${res.status}`);
    return true;
  }

  /** The toxics currently on a proxy, with their type, stream and attributes. */
  async describe(proxyName: ProxyName): Promise<ToxicInfo[]> {
    const res = await fetch(`${this.url}/proxies/${proxyName}/toxics`);
    if (!res.ok) throw new Error(`Toxiproxy GET /proxies/${proxyName}/toxics → ${res.status}`);
    return (await res.json()) as ToxicInfo[];
  }

  /** The toxics currently on a proxy, by name (to prove nothing was left behind). */
  async list(proxyName: ProxyName): Promise<string[]> {
    const res = await fetch(`${this.url}/proxies/${proxyName}/toxics`);
    if (!res.ok) throw new Error(`Toxiproxy GET /proxies/${proxyName}/toxics → ${res.status}`);
    return ((await res.json()) as { name: string }[]).map((t) => t.name);
  }
}
