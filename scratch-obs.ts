import { measureOnce } from "./src/observe/sampler.js";
const r = await measureOnce({ netns: process.argv[2] }, 500);
console.log(JSON.stringify(r, null, 1).slice(0, 3000));
