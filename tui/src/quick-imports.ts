/**
 * Loading Ink is most of the TUI's start: Ink imports one function, `throttle`, from
 * `es-toolkit/compat`, whose index loads 415 modules (0.3–0.4 s of a 0.5 s import here). This
 * resolve hook hands Ink a one-line module with just that function, from es-toolkit's own
 * `compat/throttle` entry. Registered before Ink is first imported; nothing else is redirected.
 * `CAUSEWAY_TUI_PLAIN_IMPORTS=1` turns it off (to measure the difference, or should an Ink
 * release import more from es-toolkit: it then fails at start with a SyntaxError naming it).
 * Deliberately free of imports that load Ink or React.
 */

import { registerHooks } from 'node:module';

let registered = false;

export function registerQuickImports(): void {
  if (registered || process.env.CAUSEWAY_TUI_PLAIN_IMPORTS === '1') return;
  // Node 22.15 and later have synchronous module hooks; an older Node loads Ink as it is.
  if (typeof registerHooks !== 'function') return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier !== 'es-toolkit/compat' || !/\/node_modules\/ink\//.test(context.parentURL ?? '')) {
        return nextResolve(specifier, context);
      }
      const throttle = nextResolve('es-toolkit/compat/throttle', context);
      const source = `export { default as throttle } from ${JSON.stringify(throttle.url)};`;
      return { url: `data:text/javascript,${encodeURIComponent(source)}`, shortCircuit: true };
    },
  });
}
