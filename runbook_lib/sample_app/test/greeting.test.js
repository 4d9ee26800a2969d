'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { greet, versionLabel } = require('../src/greeting');

test('greets by name', () => {
  assert.equal(greet('Ada'), 'Hello, Ada!');
});

test('trims the name', () => {
  assert.equal(greet('  Ada  '), 'Hello, Ada!');
});

test('greets the world when no name is given', () => {
  for (const name of [undefined, null, '', '   ', 42]) {
    assert.equal(greet(name), 'Hello, world!');
  }
});

test('version label carries the short commit SHA', () => {
  assert.equal(versionLabel('1.0.0', '0123456789abcdef'), 'v1.0.0 (0123456)');
});

test('version label says local outside a build', () => {
  assert.equal(versionLabel('1.0.0', undefined), 'v1.0.0 (local)');
});
