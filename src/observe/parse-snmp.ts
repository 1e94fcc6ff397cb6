/**
 * The Udp lines of /proc/net/snmp (kernel `snmp_seq_show_tcp_udp`, names from `snmp4_udp_list`):
 * a header line of counter names, then a line of values. RcvbufErrors counts datagrams dropped
 * because a socket's receive buffer was full (`__udp_queue_rcv_skb`), InErrors all receive errors.
 */

export interface UdpCounters {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  rcvbufErrors: number;
  memErrors: number;
}

/** Undefined when the file has no Udp section (a kernel without IPv4?). */
export function parseUdpSnmp(text: string): UdpCounters | undefined {
  const lines = text.split("\n");
  const head = lines
    .find((l) => /^Udp:(\s+[A-Za-z]\w*)+\s*$/.test(l))
    ?.trim()
    .split(/\s+/);
  const vals = lines
    .find((l) => /^Udp:(\s+-?\d+)+\s*$/.test(l))
    ?.trim()
    .split(/\s+/);
  if (!head || !vals) return undefined;
  const get = (k: string) => {
    const i = head.indexOf(k);
    const v = i < 0 ? 0 : Number(vals[i]);
    return Number.isSafeInteger(v) && v >= 0 ? v : 0;
  };
  return {
    inDatagrams: get("InDatagrams"),
    noPorts: get("NoPorts"),
    inErrors: get("InErrors"),
    rcvbufErrors: get("RcvbufErrors"),
    memErrors: get("MemErrors"),
  };
}
