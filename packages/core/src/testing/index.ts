export { FakeClock } from "./fake-clock";
export { type MemoryFaults, MemoryRunner, type MemoryRunnerOptions } from "./memory-runner";
