'use strict';

// Writes dist/: a static page and the browser bundle of src/, labelled with the commit SHA
// that CodeBuild exposes as CODEBUILD_RESOLVED_SOURCE_VERSION. No dependencies, no network.

const fs = require('node:fs');
const path = require('node:path');

const { greet, versionLabel } = require('../src/greeting');
const { version } = require('../package.json');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const label = versionLabel(version, process.env.CODEBUILD_RESOLVED_SOURCE_VERSION);

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sample-app</title>
</head>
<body>
  <h1 id="greeting">${escapeHtml(greet())}</h1>
  <p id="version">${escapeHtml(label)}</p>
  <script src="app.js"></script>
</body>
</html>
`;

const source = fs.readFileSync(path.join(root, 'src', 'greeting.js'), 'utf8');
const bundle = `// sample-app ${label}
(function () {
  const module = { exports: {} };
${source}
  window.sampleApp = module.exports;
})();
`;

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
fs.writeFileSync(path.join(dist, 'index.html'), page);
fs.writeFileSync(path.join(dist, 'app.js'), bundle);
console.log(`built dist/ (${label})`);
