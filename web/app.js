// memodesk staff dashboard, the entry module: screens live in js/ (one module per screen, one
// for the GraphQL documents, one for the live client). No build step and no dependencies.
// All data is rendered with textContent (never innerHTML); the token lives only in
// sessionStorage and request headers, never in a URL.

import { act } from './js/client.js';
import { relTime } from './js/dom.js';
import { startRouter } from './js/router.js';
import { enterApp, showSignIn } from './js/session.js';
import { startPalette } from './js/palette.js';
import { state } from './js/state.js';
import './js/memory.js';

// Relative times ("3 minutes ago") drift: refresh their labels every 30 s.
setInterval(() => {
  for (const t of document.querySelectorAll('time[data-rel]')) t.textContent = relTime(t.getAttribute('datetime'));
}, 30000);

startRouter();
startPalette();

if (state.token) act(() => enterApp(state.token))();
else showSignIn();
