export { labRelayOptions } from './lab-relay-options.ts';
