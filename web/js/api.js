// The GraphQL documents the dashboard sends, all in one place: a test validates each against
// schema.graphql (tools/browser-tests/schema.test.mjs). No imports, so node can load it too.
const F_LEAD_ROW = `fragment LeadRow on Lead {
  id displayName primaryPhone email lastChannel lastInteractionAt messageCount
  lastMessage { id role content occurredAt } }`;
const F_PROFILE = `fragment Profile on Lead {
  id profile { key value source confidence locked rejected updatedAt updatedBy evidence { snippet } } }`;
const F_LEAD_HEAD = `fragment LeadHead on Lead {
  ...LeadRow ...Profile sessionCount createdAt previouslyErased identities { kind value channel }
  lastSummary { text channel at conversationEndedAt sessionId } }`;
const F_SESSION = `fragment SessionRow on Session {
  id channel status startedAt lastMessageAt closedAt closeReason messageCount intents language }`;
const F_MESSAGE = `fragment Msg on Message {
  id sessionId leadId role content intent channel deliveryStatus occurredAt redactions { kind count } }`;
const F_NOTE = `fragment NoteF on Note { id kind body author pinned createdAt updatedAt }`;

const F_STAFF = `fragment Staff on StaffUser { id email displayName role active lastLoginAt deactivatedAt createdAt }`;
const F_KEY = `fragment Key on ApiKey { id name scopes lastUsedAt revokedAt createdAt }`;
const F_TENANT = `fragment TenantF on Tenant { id name settings {
  customerServiceMode sessionIdleMinutes contextMessages contextNotes contextCharBudget locale defaultRegion
  eventRetentionDays messageRetentionDays summaryRetentionDays auditRetentionDays piiRedaction piiRedactionKinds
  resetKeywords
  whatsappAppSecretConfigured whatsappVerifyTokenConfigured twilioAuthTokenConfigured } }`;
const F_HOOK = `fragment Hook on WebhookEndpoint {
  id url description eventTypes enabled disabledReason failingSince previousSecretExpiresAt createdAt updatedAt }`;
const F_DELIVERY = `fragment Delivery on WebhookDelivery {
  id webhookId eventType status attemptCount nextAttemptAt lastResponseCode lastError deliveredAt createdAt
  attempts { attempt succeeded responseCode durationMs responseBody error at } }`;
const F_JOB = `fragment JobF on Job { id kind status attempts maxAttempts runAt lastError createdAt finishedAt }`;

export const Q = {
  login: `mutation Login($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { token expiresAt user { email displayName role } } }`,
  me: `query Me { me { kind role userId apiKeyId scopes expiresAt } }`,
  leads: `query Leads($first: Int!, $after: String, $filter: LeadFilter, $orderBy: LeadOrder!) {
  leads(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node { ...LeadRow } } pageInfo { hasNextPage endCursor } totalCount } }
${F_LEAD_ROW}`,
  // The command palette: a few leads by name, phone (any format) or email.
  findLeads: `query FindLeads($search: String!) {
  leads(first: 8, filter: { search: $search }) { nodes { id displayName primaryPhone email lastChannel } } }`,
  leadRow: `query LeadRow($id: ID!) { lead(id: $id) { ...LeadRow } }
${F_LEAD_ROW}`,
  // The selected lead, refreshed live: row, header and profile together.
  leadHead: `query LeadHead($id: ID!) { lead(id: $id) { ...LeadHead } }
${F_LEAD_HEAD} ${F_LEAD_ROW} ${F_PROFILE}`,
  leadDetail: `query LeadDetail($id: ID!) { lead(id: $id) {
    ...LeadHead
    summaries(first: 5) { id summary provider fallbackReason createdAt sessionId channel }
    notes(first: 20) { ...NoteF }
    sessions(first: 10) { nodes { ...SessionRow } } } }
${F_LEAD_HEAD} ${F_LEAD_ROW} ${F_PROFILE} ${F_NOTE} ${F_SESSION}`,
  // The lead's story: conversations with their summaries, notes and profile changes.
  timeline: `query Timeline($id: ID!) {
  lead(id: $id) {
    id
    sessions(first: 50) { nodes { ...SessionRow summary { id summary sentiment nextStep provider } } }
    notes(first: 50) { ...NoteF } }
  profileHistory(leadId: $id, first: 50) {
    id key item oldValue newValue source outcome actor actorName createdAt } }
${F_SESSION} ${F_NOTE}`,
  updateLead: `mutation UpdateLead($id: ID!, $input: LeadInput!) { updateLead(id: $id, input: $input) { ...LeadHead } }
${F_LEAD_HEAD} ${F_LEAD_ROW} ${F_PROFILE}`,
  closeSession: `mutation CloseSession($id: ID!) { closeSession(id: $id) { ...SessionRow } }
${F_SESSION}`,
  summarizeSession: `mutation SummarizeSession($id: ID!) {
  summarizeSession(id: $id) { id summary provider fallbackReason createdAt updatedAt sessionId channel } }`,
  sessions: `query Sessions($id: ID!) { lead(id: $id) { id sessions(first: 10) { nodes { ...SessionRow } } } }
${F_SESSION}`,
  messages: `query Messages($id: ID!) { session(id: $id) {
    ...SessionRow messages(last: 100) { nodes { ...Msg } pageInfo { hasPreviousPage } } } }
${F_SESSION} ${F_MESSAGE}`,
  setField: `mutation SetField($leadId: ID!, $key: String!, $value: String!) {
  setProfileField(leadId: $leadId, key: $key, value: $value) { ...Profile } }
${F_PROFILE}`,
  rejectField: `mutation RejectField($leadId: ID!, $key: String!) {
  rejectProfileField(leadId: $leadId, key: $key) { ...Profile } }
${F_PROFILE}`,
  releaseField: `mutation ReleaseField($leadId: ID!, $key: String!) {
  releaseProfileField(leadId: $leadId, key: $key) { ...Profile } }
${F_PROFILE}`,
  history: `query History($leadId: ID!, $key: String!) {
  profileHistory(leadId: $leadId, key: $key, first: 20) {
    id item oldValue newValue source confidence outcome actor actorName createdAt } }`,
  addNote: `mutation AddNote($input: AddNoteInput!) { addNote(input: $input) { ...NoteF } }
${F_NOTE}`,
  pinNote: `mutation PinNote($id: ID!, $pinned: Boolean!) { pinNote(id: $id, pinned: $pinned) { ...NoteF } }
${F_NOTE}`,
  deleteNote: `mutation DeleteNote($id: ID!) { deleteNote(id: $id) }`,
  memory: `query Memory($leadId: ID!, $locale: String) { memoryContext(leadId: $leadId, locale: $locale) {
    isReturning suggestedOpening locale rendered { text estimatedTokens characters truncated } } }`,
  // Admin screens.
  staffUsers: `query StaffUsers { staffUsers { ...Staff } }
${F_STAFF}`,
  createStaffUser: `mutation CreateStaffUser($input: CreateStaffUserInput!) { createStaffUser(input: $input) { ...Staff } }
${F_STAFF}`,
  updateStaffUser: `mutation UpdateStaffUser($id: ID!, $input: UpdateStaffUserInput!) {
  updateStaffUser(id: $id, input: $input) { ...Staff } }
${F_STAFF}`,
  apiKeys: `query ApiKeys { apiKeys { ...Key } }
${F_KEY}`,
  createApiKey: `mutation CreateApiKey($name: String!, $scopes: [ApiScope!]!) {
  createApiKey(name: $name, scopes: $scopes) { token apiKey { ...Key } } }
${F_KEY}`,
  revokeApiKey: `mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ...Key } }
${F_KEY}`,
  tenant: `query TenantSettings { tenant { ...TenantF } }
${F_TENANT}`,
  updateTenant: `mutation UpdateTenant($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { ...TenantF } }
${F_TENANT}`,
  jobs: `query Jobs($status: JobStatus, $after: String) {
  jobs(status: $status, first: 50, after: $after) {
    nodes { ...JobF } pageInfo { hasNextPage endCursor } } }
${F_JOB}`,
  retryJob: `mutation RetryJob($id: ID!) { retryJob(id: $id) { ...JobF } }
${F_JOB}`,
  // Search across conversations: highlighted snippets (HTML-escaped, <mark>), best first.
  search: `query Search($query: String!, $filter: SearchFilter, $after: String) {
  search(query: $query, filter: $filter, first: 20, after: $after) {
    nodes { kind score snippet
      lead { id displayName primaryPhone email }
      session { id channel startedAt }
      record { __typename
        ... on Message { id role occurredAt }
        ... on InteractionSummary { id createdAt }
        ... on Note { id author createdAt } } }
    pageInfo { hasNextPage endCursor } relaxed semantic semanticError } }`,
  // Privacy.
  eraseLead: `mutation EraseLead($id: ID!, $reason: String!) {
  eraseLead(id: $id, reason: $reason) { id leadId erasedAt removed { table rows } } }`,
  // Subject access: a short-lived link to a ZIP of everything held about the customer.
  exportLeadData: `mutation ExportLeadData($id: ID!) { exportLeadData(id: $id) { url expiresAt } }`,
  auditLog: `query AuditLog($filter: AuditLogFilter, $after: String) {
  auditLog(filter: $filter, first: 50, after: $after) {
    nodes { id actorKind actorId action targetType targetId details at } pageInfo { hasNextPage endCursor } } }`,
  // Who an audit entry's actor is: staff users and API keys by id.
  actors: `query Actors { staffUsers { id email displayName } apiKeys { id name } }`,
  // Webhooks.
  webhookEndpoints: `query WebhookEndpoints { webhookEndpoints { ...Hook } }
${F_HOOK}`,
  createWebhook: `mutation CreateWebhook($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { ...Hook } } }
${F_HOOK}`,
  updateWebhook: `mutation UpdateWebhook($id: ID!, $input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(id: $id, input: $input) { ...Hook } }
${F_HOOK}`,
  rotateWebhook: `mutation RotateWebhook($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { ...Hook } } }
${F_HOOK}`,
  deleteWebhook: `mutation DeleteWebhook($id: ID!) { deleteWebhookEndpoint(id: $id) }`,
  webhookDeliveries: `query WebhookDeliveries($endpointId: ID!, $status: WebhookDeliveryStatus, $after: ID) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: 20, after: $after) { ...Delivery } }
${F_DELIVERY}`,
  replayDelivery: `mutation ReplayDelivery($id: ID!) { replayWebhookDelivery(id: $id) { ...Delivery } }
${F_DELIVERY}`,
  // Live documents (WebSocket).
  events: `subscription Events($after: String) {
  conversationEvents(types: [MESSAGE_CREATED, LEAD_CREATED, LEAD_UPDATED, LEAD_ERASED], after: $after) {
    cursor type leadId sessionId } }`,
  // Changes around the selected lead that the list subscription does not carry.
  leadEvents: `subscription LeadEvents($leadId: ID!) {
  conversationEvents(leadId: $leadId,
    types: [SESSION_OPENED, SESSION_CLOSED, SUMMARY_CREATED, NOTE_CREATED, NOTE_UPDATED, NOTE_DELETED]) {
    cursor type sessionId } }`,
  messageAdded: `subscription MessageAdded($leadId: ID!) { messageAdded(leadId: $leadId) { ...Msg } }
${F_MESSAGE}`,
};
