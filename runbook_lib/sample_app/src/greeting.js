'use strict';

/**
 * The sample app's whole logic: a greeting and a version label, small enough to read at a
 * glance, real enough that the pipeline has something to test and to ship.
 */

const DEFAULT_NAME = 'world';
const SHORT_SHA_LENGTH = 7;

function greet(name) {
  const who = typeof name === 'string' && name.trim() !== '' ? name.trim() : DEFAULT_NAME;
  return `Hello, ${who}!`;
}

function versionLabel(version, commitSha) {
  const sha = typeof commitSha === 'string' && commitSha !== '' ? commitSha : 'local';
  return `v${version} (${sha.slice(0, SHORT_SHA_LENGTH)})`;
}

module.exports = { greet, versionLabel };
