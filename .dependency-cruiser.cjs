/**
 * The layers of src/ (docs/ARCHITECTURE.md, "Layers"), enforced by dependency-cruiser:
 * `npm run check:layers`; test/unit/layers.test.ts runs it on src/ and on a tree that breaks each rule
 * (test/fixtures/layers).
 *
 * TIERS lists the layers from the top down. A module may import its own folder and any tier
 * below its own; never a tier above. In a tier of several units, a unit never imports another
 * (no sideways imports): what two of them share moves down a tier. No cycles anywhere, type-only
 * imports included (tsPreCompilationDeps).
 */
const TIERS = [
  { name: 'entry', units: ['cli.ts', 'index.ts', 'library.ts', 'migrate.ts', 'persister.ts'], sideways: true },
  { name: 'commands', units: ['commands/'] },
  { name: 'runtime', units: ['runtime.ts'] },
  { name: 'workflows', units: ['pipeline/', 'rehearse/'] },
  { name: 'lint', units: ['lint/'] },
  { name: 'domains', units: ['migrations/', 'backup/', 'audit/', 'courses/', 'persist/', 'pgtap/', 'init/'] },
  { name: 'embedded', units: ['embedded/'] },
  { name: 'db', units: ['db/'] },
  { name: 'base', units: ['output/', 'fs/', 'config.ts', 'lazy.ts', 'version.ts'] },
  { name: 'core', units: ['core/', 'errors.ts'], sideways: true },
];

const escape = (unit) => unit.replace(/[.]/g, '\\.');
const pathOf = (units) => `^src/(${units.map(escape).join('|')})`;

const upward = TIERS.slice(1).map((tier, i) => ({
  name: `${tier.name}-imports-down`,
  comment: `${tier.name} may not import a tier above it (${TIERS.slice(0, i + 1).map((t) => t.name).join(', ')})`,
  severity: 'error',
  from: { path: pathOf(tier.units) },
  to: { path: pathOf(TIERS.slice(0, i + 1).flatMap((t) => t.units)) },
}));

const sideways = TIERS.filter((tier) => tier.units.length > 1 && !tier.sideways).map((tier) => ({
  name: `${tier.name}-no-sideways`,
  comment: `one unit of ${tier.name} never imports another: move what they share down a tier`,
  severity: 'error',
  from: { path: pathOf(tier.units) },
  to: { path: pathOf(tier.units), pathNot: '^src/$1' },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle (type-only imports count: they tie the modules together just the same)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      comment: 'core/ does no I/O: no filesystem, processes, network or database driver',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(node:)?(fs|fs/promises|child_process|net|tls|http|https|dgram)$|^pg$|^pg-copy-streams$' },
    },
    {
      name: 'no-command-imports-a-command',
      comment: 'one command per file: what two commands share moves down (pipeline/, db/, a domain)',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: '^src/commands/' },
    },
    ...upward,
    ...sideways,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // TypeScript 7 has no compiler API for dependency-cruiser to parse with; swc parses the same
    // syntax (type-only imports included).
    parser: 'swc',
  },
};
