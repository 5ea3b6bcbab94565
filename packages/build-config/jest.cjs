/**
 * Base Jest options: TypeScript tests compiled by ts-jest to CommonJS, with the
 * repository's strict settings kept but module syntax relaxed for the test runtime. Every test
 * must make an assertion (see jest-setup.cjs). The timeout is a guard against hangs, never a
 * measurement: starting redis-server processes or a cluster in a hook takes seconds on a busy
 * machine, so hooks and tests get 30 s unless a package asks for more.
 * @param {import("jest").Config} [overrides]
 * @returns {import("jest").Config}
 */
function jestConfig(overrides = {}) {
  return {
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    testTimeout: 30000,
    setupFilesAfterEnv: [require.resolve("./jest-setup.cjs")],
    transform: {
      "^.+\\.ts$": [
        "ts-jest",
        {
          tsconfig: {
            isolatedModules: true,
            module: "commonjs",
            moduleResolution: "node10",
            verbatimModuleSyntax: false,
            target: "ES2022",
            lib: ["ES2022", "ESNext.Disposable", "DOM"],
            esModuleInterop: true,
          },
        },
      ],
    },
    ...overrides,
  };
}

module.exports = { jestConfig };
