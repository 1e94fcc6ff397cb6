/**
 * A blocking netlink socket through libc: send one request, collect replies until the ACK
 * (NLMSG_ERROR with error 0) or, for a dump, NLMSG_DONE. Errors from the kernel become SysError
 * carrying errno and the extended-ack text. The socket belongs to the network namespace of the
 * thread that opened it (open it inside withNetns to talk to another namespace).
 */
import { check, lastErrno, libc, SysError } from "../libc.js";
import { decodeError, decodeMessages, encodeMessage, NetlinkDecodeError, type NlMessage } from "./codec.js";
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from "./families.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
/** NETLINK_CAP_ACK: don't echo the request in ACKs; NETLINK_EXT_ACK: add the kernel's error text. */
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_PEEK = 2;
const MSG_TRUNC = 0x20;
/** Replies not arriving within this time mean the kernel did not answer: fail instead of hanging. */
const RECV_TIMEOUT_S = 5;

/** A netlink error reply: SysError with the kernel's extended-ack message. */
export class NetlinkError extends SysError {
  readonly kernelMessage: string | undefined;
  constructor(what: string, errno: number, kernelMessage?: string) {
    super(kernelMessage ? `${what} (kernel: ${kernelMessage})` : what, errno);
    this.name = "NetlinkError";
    this.kernelMessage = kernelMessage;
  }
}

function intOpt(fd: number, level: number, name: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  check("setsockopt", libc.setsockopt(fd, level, name, b, 4));
}

export class NetlinkSocket {
  readonly fd: number;
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;
  private closed = false;
  /** The one-byte buffer the size probe peeks into: one per socket, not one per datagram. */
  private readonly probe = Buffer.alloc(1);

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** socket(AF_NETLINK, SOCK_RAW) for `protocol`, bound with a kernel-assigned port id. */
  static open(protocol: number): NetlinkSocket {
    const fd = check("netlink socket", libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol));
    const sock = new NetlinkSocket(fd);
    try {
      const addr = Buffer.alloc(12);
      addr.writeUInt16LE(AF_NETLINK, 0);
      check("netlink bind", libc.bind(fd, addr, addr.length));
      intOpt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      intOpt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(RECV_TIMEOUT_S), 0);
      check("setsockopt SO_RCVTIMEO", libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length));
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }

  private recvDatagram(): Buffer {
    // peek with MSG_TRUNC to learn the datagram's full size, then read it whole
    let size = libc.recvfrom(this.fd, this.probe, 0, MSG_PEEK | MSG_TRUNC, null, null);
    if (size < 0) {
      const e = lastErrno();
      if (e === 11) throw new SysError(`netlink: no reply within ${RECV_TIMEOUT_S}s`, e);
      throw new SysError("netlink recv", e);
    }
    size = Math.max(size, 16);
    // uninitialised is fine: the kernel fills it and only the n bytes it wrote are kept (small
    // datagrams come from Node's buffer pool instead of an allocation each)
    const buf = Buffer.allocUnsafe(size);
    const n = check("netlink recv", libc.recvfrom(this.fd, buf, size, 0, null, null));
    return buf.subarray(0, n);
  }

  /**
   * Send one request and return its reply messages (for a dump: every part, without DONE).
   * `what` names the operation in error messages.
   */
  request(type: number, payload: Buffer, opts: { dump?: boolean; what: string }): NlMessage[] {
    const seq = ++this.seq;
    const flags = NLM_F_REQUEST | NLM_F_ACK | (opts.dump ? NLM_F_DUMP : 0);
    const msg = encodeMessage({ type, flags, seq, payload });
    const sent = libc.sendto(this.fd, msg, msg.length, 0, null, 0);
    if (sent < 0) throw new SysError(`${opts.what}: send`, lastErrno());
    const replies: NlMessage[] = [];
    for (;;) {
      for (const m of decodeMessages(this.recvDatagram())) {
        if (m.seq !== seq) continue; // a stale reply to an earlier request
        if (m.type === NLMSG_ERROR) {
          const e = decodeError(m);
          if (e.error === 0) {
            if (!opts.dump) return replies;
            continue; // a dump's ACK comes after DONE; DONE ends it
          }
          throw new NetlinkError(opts.what, -e.error, e.message);
        }
        if (m.type === NLMSG_DONE) {
          if (m.payload.length >= 4) {
            const err = m.payload.readInt32LE(0);
            if (err < 0) throw new NetlinkError(opts.what, -err);
          }
          return replies;
        }
        replies.push(m);
      }
    }
  }
}

export { NetlinkDecodeError };
