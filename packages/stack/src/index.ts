export { stackUp, stackDown, stackStatus, formatStatus, startService, stopService, type RestartableService, type StackOptions } from './stack.ts';
export { proxySpecs, TOXIPROXY_MODULE, type ProxySpec } from './toxiproxy.ts';
export { serverProperties, kafkaAnswers } from './kafka.ts';
export { layout, SERVICE_NAMES, type ServiceName } from './layout.ts';
export { runningFromPidFile, isAlive } from './process.ts';
export type { ServiceStatus, Progress } from './types.ts';
