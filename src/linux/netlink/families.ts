/**
 * Attribute tables of the generic netlink families napilab speaks: the controller ("nlctrl",
 * include/uapi/linux/genetlink.h) and "netdev" (Documentation/netlink/specs/netdev.yaml,
 * include/uapi/linux/netdev.h). Numbers are the kernel's uapi enum values.
 */
import type { AttrSet } from "./codec.js";

/** Netlink protocol and message types (include/uapi/linux/netlink.h). */
export const NETLINK_GENERIC = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH

/** GENL_ID_CTRL: the controller's fixed family id. */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_CMD_GETPOLICY = 10;
/** genl op flags reported in CTRL_ATTR_OP_FLAGS. */
export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;

export const CTRL_OP: AttrSet = {
  name: "ctrl-op",
  attrs: { 1: { name: "id", type: "u32" }, 2: { name: "flags", type: "u32" } },
};

export const CTRL_MCAST_GRP: AttrSet = {
  name: "ctrl-mcast-grp",
  attrs: { 1: { name: "name", type: "string" }, 2: { name: "id", type: "u32" } },
};

/** netlink_policy_type_attr: one attribute's policy in a CTRL_CMD_GETPOLICY dump. */
export const POLICY_TYPE: AttrSet = {
  name: "policy-attrs",
  attrs: {
    1: { name: "type", type: "u32" },
    2: { name: "minValueS", type: "binary" },
    3: { name: "maxValueS", type: "binary" },
    4: { name: "minValueU", type: "u64" },
    5: { name: "maxValueU", type: "u64" },
    6: { name: "minLength", type: "u32" },
    7: { name: "maxLength", type: "u32" },
    8: { name: "policyIdx", type: "u32" },
    9: { name: "policyMaxtype", type: "u32" },
    10: { name: "bitfield32Mask", type: "u32" },
    11: { name: "pad", type: "binary" },
    12: { name: "mask", type: "u64" },
  },
};

/** CTRL_ATTR_*: the controller's attributes. CTRL_ATTR_POLICY is decoded by hand (two index levels). */
export const CTRL_ATTRS: AttrSet = {
  name: "ctrl-attrs",
  attrs: {
    1: { name: "familyId", type: "u16" },
    2: { name: "familyName", type: "string" },
    3: { name: "version", type: "u32" },
    4: { name: "hdrsize", type: "u32" },
    5: { name: "maxattr", type: "u32" },
    6: { name: "ops", type: { indexedArray: CTRL_OP } },
    7: { name: "mcastGroups", type: { indexedArray: CTRL_MCAST_GRP } },
    8: { name: "policy", type: "binary" },
    9: { name: "opPolicy", type: "binary" },
    10: { name: "op", type: "u32" },
  },
};

/** CTRL_ATTR_POLICY_DO / _DUMP inside CTRL_ATTR_OP_POLICY entries. */
export const CTRL_OP_POLICY: AttrSet = {
  name: "ctrl-op-policy",
  attrs: { 1: { name: "do", type: "u32" }, 2: { name: "dump", type: "u32" } },
};

/** netdev commands (NETDEV_CMD_*). */
export const NETDEV_CMD = {
  devGet: 1,
  queueGet: 10,
  napiGet: 11,
  qstatsGet: 12,
  napiSet: 14,
} as const;

/** netdev `napi` attribute set (NETDEV_A_NAPI_*). */
export const NETDEV_NAPI: AttrSet = {
  name: "napi",
  attrs: {
    1: { name: "ifindex", type: "u32" },
    2: { name: "id", type: "u32" },
    3: { name: "irq", type: "u32" },
    4: { name: "pid", type: "u32" },
    5: { name: "deferHardIrqs", type: "u32" },
    6: { name: "groFlushTimeout", type: "uint" },
    7: { name: "irqSuspendTimeout", type: "uint" },
    8: { name: "threaded", type: "uint" },
  },
};

/** NETDEV_A_NAPI_THREADED attribute number (the per-NAPI threaded knob of napi-set). */
export const NETDEV_A_NAPI_THREADED = 8;

/** enum netdev_napi_threaded: the values of the threaded attribute. */
export const NAPI_THREADED_VALUES = ["disabled", "enabled", "busy-poll"] as const;

/** netdev `queue` attribute set (NETDEV_A_QUEUE_*): which NAPI serves which rx/tx queue. */
export const NETDEV_QUEUE: AttrSet = {
  name: "queue",
  attrs: {
    1: { name: "id", type: "u32" },
    2: { name: "ifindex", type: "u32" },
    3: { name: "type", type: "u32" },
    4: { name: "napiId", type: "u32" },
  },
};

/** enum netdev_queue_type. */
export const QUEUE_TYPES = ["rx", "tx"] as const;
