export { ToxicHelper, type ProxyName, type ToxicSpec, type AddedToxic } from './toxics.ts';
