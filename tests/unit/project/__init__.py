"""Checks of the project as a whole rather than of one module: the layers and their imports,
one home per name, sizes, the test tree's own layout, lint and environment files, docs that
must match the tree, the sample app, the fixture repositories and the benchmarks' endpoints."""
