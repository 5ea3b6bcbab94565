/** What the scheduler sends to a worker process. */
export type Request = { type: "tick"; tick: string } | { type: "stop" };

/** What a worker process answers. */
export type Reply =
  | { type: "ready"; worker: string }
  | { type: "tick"; tick: string; worker: string; ran: boolean; error?: string };
