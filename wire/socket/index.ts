export { openVrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6 } from './vrrp-socket.js';
export type { VrrpSocket, VrrpSocketOptions, ReceivedPacket, VrrpSocketStats } from './vrrp-socket.js';
export { interfaceInfo, sendEthernetFrame, formatMac } from './interfaces.js';
export type { InterfaceInfo } from './interfaces.js';
export type { SysResult } from './result.js';
