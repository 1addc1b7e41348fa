// Draw faces with facesjs (Apache-2.0): one identity is one parameter draw; each of its pictures keeps what
// makes the person (head and ear shape, eyes, eyebrows, nose, skin, build, hair colour) and varies what a photo
// of one person varies (expression, haircut now and then, glasses, hat or headband, beard now and then, clothes).
// Usage: node faces_render.mjs FACESJS_MAIN_JS '{"seed": 0, "identities": 10, "per_identity": 4, "first": 0}'
// Prints one JSON line per picture: {"identity": k, "svg": "..."}. Deterministic: Math.random is a seeded PRNG.
import { pathToFileURL } from "node:url";

const [main, argument] = process.argv.slice(2);
const job = JSON.parse(argument);

function mulberry32(a) {  // a small seeded generator (public-domain algorithm)
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const { generate, faceToSvgString, svgsIndex } = await import(pathToFileURL(main).href);
const rand = () => Math.random();
const pick = (list) => list[Math.floor(rand() * list.length)];
const jitter = (value, spread) => Math.round(value + (rand() * 2 - 1) * spread);
const out = [];
for (let k = job.first; k < job.first + job.identities; k++) {
  Math.random = mulberry32(job.seed * 1000003 + k);  // one identity's draw depends on (seed, k) only
  const gender = rand() < 0.5 ? "male" : "female";
  const person = generate(undefined, { gender });
  for (let j = 0; j < job.per_identity; j++) {
    const other = generate(undefined, { gender });  // fresh draws of the features that change
    const face = structuredClone(person);
    face.mouth = other.mouth;                       // expression
    face.smileLine = rand() < 0.5 ? other.smileLine : person.smileLine;
    face.eyebrow.angle = jitter(person.eyebrow.angle, 6);
    face.eye.angle = jitter(person.eye.angle, 2);
    if (rand() < 0.25) { face.hair = { ...other.hair, color: person.hair.color }; face.hairBg = other.hairBg; }
    face.hair.flip = rand() < 0.5;
    face.glasses = { id: rand() < 0.25 ? pick(svgsIndex.glasses) : "none" };
    face.accessories = rand() < 0.2 ? other.accessories : { id: "none" };
    if (rand() < 0.15) face.facialHair = other.facialHair;
    face.jersey = other.jersey;                     // clothes
    face.teamColors = other.teamColors.map(() => "#" + Math.floor(rand() * 0xffffff).toString(16).padStart(6, "0"));
    out.push(JSON.stringify({ identity: k, svg: faceToSvgString(face) }));
  }
}
process.stdout.write(out.join("\n") + "\n");
