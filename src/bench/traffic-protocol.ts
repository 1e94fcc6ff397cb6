/** What the main thread and the traffic worker threads share: start-up data and counter layout. */

/** Index in the control Int32Array: non-zero tells every thread of the group to stop. */
export const CTRL_STOP = 0;

/** Each thread owns SLOT_WIDTH Float64 counters in the shared counter buffer. */
export const SLOT_WIDTH = 5;
export const SLOT_PACKETS = 0;
export const SLOT_BYTES = 1;
export const SLOT_ERRORS = 2;
/** Frames the device refused and the sender sent again (packet generator, whole datagrams). */
export const SLOT_REFUSED = 3;
/** Receivers: SO_INCOMING_NAPI_ID of their socket once a datagram arrived (receiver-variant.ts). */
export const SLOT_NAPI_ID = 4;

interface Common {
  /** Network namespace (a name under /run/netns) the thread enters before opening its socket. */
  netns: string;
  cpus: number[];
  control: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  slot: number;
}

export type TrafficWorkerData =
  | (Common & {
      role: "receiver";
      address: string;
      port: number;
      /** Non-blocking recv and socket busy polling (receiver-variant.ts); absent: blocking recv. */
      variant?: import("./receiver-variant.js").ReceiverVariant;
    })
  | (Common & {
      role: "sender";
      source: string;
      destination: string;
      ports: number[];
      size: number;
      batch: number;
      /** Offered load to pace to; 0 = as fast as possible (a flood, as UDP_STREAM). */
      ratePps: number;
      /** packet: AF_PACKET frames built by napilab; udp: a UDP socket and the kernel's stack. */
      generator: SenderKind;
      /** For the packet generator: the sending device and both MAC addresses. */
      ifname?: string;
      srcMac?: string;
      dstMac?: string;
      /**
       * Keep datagrams whole: a small socket buffer (udp) or resending refused frames (packet), so
       * that a full ring delays fragments instead of dropping some of a datagram's fragments.
       */
      wholeDatagrams: boolean;
    });

export type SenderKind = "packet" | "udp";

export type WorkerMessage =
  | { type: "ready"; tid: number }
  | { type: "done" }
  | { type: "error"; message: string };
