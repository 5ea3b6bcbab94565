// Every test must check something: a test that returns without an assertion fails. A test
// whose point is "this does not throw" states it (`expect(...).not.toThrow()`, `.resolves`).
beforeEach(() => {
  expect.hasAssertions();
});
