// A closing line any CI can read: "dashboard: N passed, N failed, N skipped".
export default async function* summary(source) {
  let passed = 0; let failed = 0; let skipped = 0;
  for await (const event of source) {
    // Count tests, not the suites around them.
    if (event.data?.details?.type === 'suite') continue;
    if (event.type === 'test:pass') { if (event.data.skip || event.data.todo) skipped += 1; else passed += 1; }
    if (event.type === 'test:fail') failed += 1;
  }
  yield `\ndashboard: ${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
