/** keepalived's track_file semantics: file text to value, value × weight to priority or Fault. */
export { fileEffect, parseFileValue, TRACK_FILE_READ_BYTES, type FileEffect, type FileValue } from './value.js';
