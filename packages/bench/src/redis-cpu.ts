import type { Redis } from "ioredis";

/** Seconds of CPU (user + sys) each node's redis-server has used so far. */
export async function redisCpuSeconds(admins: readonly Redis[]): Promise<number> {
  const infos = await Promise.all(admins.map((admin) => admin.info("cpu")));
  let total = 0;
  for (const info of infos) {
    const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
    const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
    total += Number(user ?? Number.NaN) + Number(sys ?? Number.NaN);
  }
  return total;
}
