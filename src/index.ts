/** napilab as a library: the shared vocabulary and units; each pillar exports its own entry. */
export * from "./core/errors.js";
export * from "./core/units.js";
export * from "./core/vocabulary.js";
