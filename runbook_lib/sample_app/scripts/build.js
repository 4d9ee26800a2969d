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

// With deploy_provider=cloudformation the pipeline sets STACK_TEMPLATE, the file its Deploy
// actions read from this build's output, and STACK_TAGS, the stack's tags (JSON), which go in
// the template configuration beside it. The template has no local code to upload, so the
// packaged template is the template itself.
const stackTemplate = process.env.STACK_TEMPLATE;
if (stackTemplate) {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(stackTemplate)) {
    throw new Error(`STACK_TEMPLATE must be a file name: ${JSON.stringify(stackTemplate)}`);
  }
  fs.copyFileSync(path.join(root, 'infra', 'template.yaml'), path.join(dist, stackTemplate));
  const configuration = { Tags: JSON.parse(process.env.STACK_TAGS || '{}') };
  fs.writeFileSync(path.join(dist, 'stack-configuration.json'),
    `${JSON.stringify(configuration, null, 2)}\n`);
  console.log(`wrote dist/${stackTemplate} and dist/stack-configuration.json`);
}
console.log(`built dist/ (${label})`);
