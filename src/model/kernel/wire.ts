/**
 * The wire: Ethernet framing (IEEE 802.3 constants, not cost figures), IP fragmentation of a UDP
 * datagram at the MTU (ip_fragment: fragment payloads are multiples of 8 bytes), and line rate.
 */
export const ETH_HLEN = 14;
export const ETH_FCS = 4;
/** Preamble and start-of-frame delimiter. */
export const ETH_PREAMBLE_SFD = 8;
/** Minimum inter-frame gap. */
export const ETH_IFG = 12;
export const ETH_MIN_FRAME = 64;
const IPV4_HLEN = 20;
const UDP_HLEN = 8;

export interface Framing {
  /** UDP payload bytes of one datagram. */
  payload: number;
  /** Frames (IP fragments) per datagram. */
  frags: number;
  /** Bytes of all frames of one datagram from the MAC header to the FCS. */
  frameBytes: number;
  /** Bytes of one datagram on the wire, with preamble, SFD and inter-frame gaps. */
  wireBytes: number;
}

/** How a UDP datagram of `payload` bytes travels over Ethernet with the given MTU. */
export function udpFraming(payload: number, mtu: number): Framing {
  const ipPayload = payload + UDP_HLEN;
  const maxFrag = Math.floor((mtu - IPV4_HLEN) / 8) * 8;
  const frags = Math.max(1, Math.ceil(ipPayload / maxFrag));
  let frameBytes = 0;
  let left = ipPayload;
  for (let i = 0; i < frags; i++) {
    const part = Math.min(left, maxFrag);
    left -= part;
    frameBytes += Math.max(ETH_MIN_FRAME, IPV4_HLEN + part + ETH_HLEN + ETH_FCS);
  }
  return { payload, frags, frameBytes, wireBytes: frameBytes + frags * (ETH_PREAMBLE_SFD + ETH_IFG) };
}

/** Datagrams per second a link of `bitsPerSecond` carries at most. */
export function lineRateDps(f: Framing, bitsPerSecond: number): number {
  return bitsPerSecond / (8 * f.wireBytes);
}
