export { buildGratuitousArp } from './gratuitous-arp.js';
export { buildUnsolicitedNa } from './unsolicited-na.js';
export type { UnsolicitedNaOptions } from './unsolicited-na.js';
