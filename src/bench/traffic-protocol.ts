/** What the main thread and the traffic worker threads share: start-up data and counter layout. */

/** Index in the control Int32Array: non-zero tells every thread of the group to stop. */
export const CTRL_STOP = 0;

/** Each thread owns SLOT_WIDTH Float64 counters in the shared counter buffer. */
export const SLOT_WIDTH = 4;
export const SLOT_PACKETS = 0;
export const SLOT_BYTES = 1;
export const SLOT_ERRORS = 2;
/** Receivers: SO_INCOMING_NAPI_ID of their socket once a datagram arrived (receiver-variant.ts). */
export const SLOT_NAPI_ID = 3;

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
    });

export type WorkerMessage =
  | { type: "ready"; tid: number }
  | { type: "done" }
  | { type: "error"; message: string };
