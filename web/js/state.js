// What the dashboard shows now, shared by the screens.

export const TOKEN_KEY = 'memodesk.token';
export const USER_KEY = 'memodesk.user';

export const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  leads: [], // rows shown in the list, in order
  endCursor: null,
  hasNext: false,
  search: '',
  leadId: null, // selected lead
  lead: null, // its detail
  sessions: [],
  sessionId: null, // selected session
  messageIds: new Set(),
  messagesTruncated: false,
  editingKey: null, // a profile field being edited: live refreshes must not clobber it
  openHistory: new Set(),
  announced: new Set(), // new conversations announced and not opened yet
  wantedMessage: null, // a message asked for by the URL (a search hit), shown and marked
  wantedSession: null, // a conversation asked for by the URL, opened once the lead loads
  filtered: false, // a filter other than the search is on
  total: null, // leads in the whole list
};
