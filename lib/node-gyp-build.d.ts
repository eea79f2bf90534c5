declare module 'node-gyp-build' {
  /** Loads the addon of the package rooted at `dir` (prebuild when one matches, else build/). */
  function load(dir: string): unknown;
  namespace load {
    /** Resolves the path of the addon that `load(dir)` would load. */
    function resolve(dir: string): string;
  }
  export = load;
}
