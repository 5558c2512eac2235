/**
 * What the web client knows: who is online with which status, and the
 * conversations (the shared room and one per private correspondent).
 * No DOM here.
 */

/** Key of the shared room; no user name can contain '#'. */
export const ROOM = '#sala';

/** How statuses read in the interface. */
export const STATUS_WORDS = Object.freeze({ ACTIVO: 'activo', OCUPADO: 'ocupado', INACTIVO: 'inactivo' });

/** Messages kept per conversation; older ones are dropped. */
const HISTORY_LIMIT = 500;

/**
 * @typedef {'ACTIVO' | 'OCUPADO' | 'INACTIVO'} UserStatus
 * @typedef {{ kind: 'message', sender: string, text: string, time: Date, own: boolean, private: boolean }
 *         | { kind: 'notice', text: string, time: Date, problem: boolean }} Entry
 * @typedef {{ key: string, entries: Entry[], unread: number }} Conversation
 */

export class ChatState {
  /** @param {string} self */
  constructor(self) {
    this.self = self;
    /** @type {Map<string, UserStatus | undefined>} statuses of users online (undefined until known) */
    this.users = new Map();
    /** @type {Map<string, Conversation>} */
    this.conversations = new Map([[ROOM, { key: ROOM, entries: [], unread: 0 }]]);
    this.active = ROOM;
  }

  /** Replaces the user list, keeping statuses already known. @param {readonly string[]} names */
  setUsers(names) {
    const previous = this.users;
    this.users = new Map(names.map((name) => [name, previous.get(name)]));
  }

  /**
   * Records a status; tells whether it announced a newcomer.
   * @param {string} user @param {UserStatus} status @returns {'joined' | 'changed'}
   */
  setStatus(user, status) {
    const joined = !this.users.has(user);
    this.users.set(user, status);
    return joined ? 'joined' : 'changed';
  }

  /** @param {string} user */
  remove(user) {
    this.users.delete(user);
  }

  /** Users sorted by name, the current user first. */
  sortedUsers() {
    return [...this.users.entries()].sort(([a], [b]) => (a === this.self ? -1 : b === this.self ? 1 : a.localeCompare(b)));
  }

  /** @param {string} key @returns {Conversation} */
  conversation(key) {
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = { key, entries: [], unread: 0 };
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  /** @param {string} key @param {Entry} entry */
  add(key, entry) {
    const conversation = this.conversation(key);
    conversation.entries.push(entry);
    if (conversation.entries.length > HISTORY_LIMIT) conversation.entries.splice(0, conversation.entries.length - HISTORY_LIMIT);
    if (key !== this.active && entry.kind === 'message') conversation.unread++;
  }

  /** @param {string} key */
  open(key) {
    this.conversation(key).unread = 0;
    this.active = key;
  }
}
