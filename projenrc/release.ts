/**
 * The Node.js versions the published package runs on: the library (lib/), its CLI (lib/cli/main.js) and their
 * dependencies, in every language (the bindings run the library in Node.js). aws-cdk-lib, a peer dependency, asks for
 * 20.0.0, and the minimatch it bundles leaves out Node.js 21 (an odd-numbered line, past its end of life); the library
 * and the CLI were run on 20.0.0 itself (docs/releasing.md). Written to package.json `engines`.
 */
export const USER_NODE_VERSION = '20.0.0';
export const USER_NODE_VERSIONS = `^${USER_NODE_VERSION} || >=22.0.0`;

/**
 * The Node.js versions the development toolchain runs on: those that every package in package-lock.json accepts
 * (the narrowest is typescript-eslint's eslint-visitor-keys; jest leaves out Node.js 23). Written to package.json
 * `devEngines`: npm 11 fails `npm ci` outside it (EBADDEVENGINES); npm versions without devEngines ignore it.
 */
export const CONTRIBUTOR_NODE_VERSIONS = '^20.19.0 || ^22.13.0 || >=24';
