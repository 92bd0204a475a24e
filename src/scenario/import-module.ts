// The one place hetmem imports a module it does not ship: a scenario's plug-in policies and,
// for TypeScript plug-ins, tsx's loader. The bundled CLI runs as a script compiled with V8's
// code cache (tools/bundle-cli.mjs), and such a script has no import() of its own on Node 20
// (without --experimental-vm-modules); the build puts the bin's import() in this module's place.

/**
 * `import(specifier)`: an absolute file URL, or a package name resolved from the hetmem
 * package (as from any of its modules).
 */
export function importModule(specifier: string): Promise<unknown> {
  return import(specifier);
}
