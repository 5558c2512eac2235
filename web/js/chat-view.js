import { ROOM, STATUS_WORDS } from './chat-state.js';
import { clock, element } from './dom.js';

/** @typedef {import('./chat-state.js').ChatState} ChatState */

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** The page: the login form, then the chat. It draws the state and reports what the user does. */
export class ChatView {
  constructor() {
    this.loginScreen = byId('login');
    this.loginForm = /** @type {HTMLFormElement} */ (byId('login-form'));
    this.nameInput = /** @type {HTMLInputElement} */ (byId('name-input'));
    this.loginError = byId('login-error');
    this.chatScreen = byId('chat');
    this.me = byId('me');
    this.statusSelect = /** @type {HTMLSelectElement} */ (byId('status-select'));
    this.connection = byId('connection');
    this.toggleUsers = byId('toggle-users');
    this.userCount = byId('user-count');
    this.userList = byId('user-list');
    this.tabs = byId('tabs');
    this.messages = byId('messages');
    this.composer = /** @type {HTMLFormElement} */ (byId('composer'));
    this.messageInput = /** @type {HTMLInputElement} */ (byId('message-input'));
    this.leaveButton = byId('leave');
    /** What the message list shows, so new entries are appended rather than everything drawn again. */
    this.shown = { key: '', first: /** @type {unknown} */ (undefined), count: 0 };

    this.toggleUsers.addEventListener('click', () => this.showUsers(!this.chatScreen.classList.contains('users-open')));
  }

  /** The scripts loaded: replace the loading notice with the form. */
  ready() {
    byId('boot-message').hidden = true;
    this.loginForm.hidden = false;
    this.nameInput.focus();
  }

  /** @param {(name: string) => void} handler */
  onLogin(handler) {
    this.loginForm.addEventListener('submit', (event) => {
      event.preventDefault();
      handler(this.nameInput.value.trim());
    });
  }

  /** @param {(text: string) => void} handler */
  onSend(handler) {
    this.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.messageInput.value;
      if (text.trim() === '') return;
      this.messageInput.value = '';
      handler(text);
    });
  }

  /** @param {(status: string) => void} handler */
  onStatusChange(handler) {
    this.statusSelect.addEventListener('change', () => handler(this.statusSelect.value));
  }

  /** @param {() => void} handler */
  onLeave(handler) {
    this.leaveButton.addEventListener('click', handler);
  }

  /** @param {boolean} busy @param {string} [error] */
  loginPending(busy, error = '') {
    this.loginForm.querySelector('button')?.toggleAttribute('disabled', busy);
    this.loginError.textContent = error;
  }

  /** @param {string} name */
  enterChat(name) {
    this.loginScreen.hidden = true;
    this.chatScreen.hidden = false;
    this.me.textContent = name;
    this.messageInput.focus();
  }

  /** @param {string} status */
  showOwnStatus(status) {
    this.statusSelect.value = status;
  }

  /** @param {'open' | 'reconnecting' | 'closed'} state @param {string} label */
  showConnection(state, label) {
    this.connection.dataset['state'] = state;
    this.connection.textContent = label;
    const usable = state === 'open';
    for (const control of [this.messageInput, this.statusSelect]) control.toggleAttribute('disabled', !usable);
    this.composer.querySelector('button')?.toggleAttribute('disabled', !usable);
    this.leaveButton.textContent = state === 'closed' ? 'Volver a entrar' : 'Salir';
  }

  /** @param {boolean} open */
  showUsers(open) {
    this.chatScreen.classList.toggle('users-open', open);
    this.toggleUsers.setAttribute('aria-expanded', String(open));
  }

  /** @param {ChatState} state @param {(user: string) => void} openPrivate */
  renderUsers(state, openPrivate) {
    const items = state.sortedUsers().map(([name, status]) => {
      const isSelf = name === state.self;
      const label = status ? STATUS_WORDS[status] : 'estado desconocido';
      const button = element('button', { attributes: { type: 'button', 'data-user': name, title: isSelf ? 'Tú' : `Mensaje privado a ${name}` } }, [
        element('span', { className: 'dot', attributes: { 'data-status': status ?? '' } }),
        element('span', { className: 'user-name', text: isSelf ? `${name} (tú)` : name }),
        element('span', { className: 'user-status', text: label }),
      ]);
      if (isSelf) button.disabled = true;
      else button.addEventListener('click', () => openPrivate(name));
      return element('li', {}, [button]);
    });
    this.userList.replaceChildren(...items);
    this.userCount.textContent = String(state.users.size);
  }

  /** @param {ChatState} state @param {(key: string) => void} select */
  renderTabs(state, select) {
    const tabs = [...state.conversations.values()].map((conversation) => {
      const selected = conversation.key === state.active;
      const tab = element('button', {
        text: conversation.key === ROOM ? 'Sala' : `@${conversation.key}`,
        attributes: { type: 'button', role: 'tab', 'aria-selected': String(selected), 'data-conversation': conversation.key },
      });
      if (conversation.unread > 0) tab.append(element('span', { className: 'unread', text: String(conversation.unread) }));
      tab.addEventListener('click', () => select(conversation.key));
      return tab;
    });
    this.tabs.replaceChildren(...tabs);
    this.messageInput.placeholder = state.active === ROOM ? 'Mensaje para todos' : `Mensaje privado para ${state.active}`;
  }

  /** @param {ChatState} state */
  renderMessages(state) {
    const list = this.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const { entries } = state.conversation(state.active);
    const shown = this.shown;
    // Only new entries are added to what is on screen (screen readers announce just those);
    // another conversation, or history trimmed at the top, draws the list anew.
    if (shown.key === state.active && shown.first === entries[0] && shown.count <= entries.length) {
      list.append(...entries.slice(shown.count).map(renderEntry));
    } else {
      list.replaceChildren(...entries.map(renderEntry));
    }
    this.shown = { key: state.active, first: entries[0], count: entries.length };
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}

/** @param {import('./chat-state.js').Entry} entry */
function renderEntry(entry) {
  if (entry.kind === 'notice') {
    return element('li', { className: `notice${entry.problem ? ' problem' : ''}`, text: `${clock(entry.time)} · ${entry.text}` });
  }
  const classes = ['message', entry.own ? 'own' : '', entry.private ? 'private' : ''].filter(Boolean).join(' ');
  return element('li', { className: classes }, [
    element('span', { className: 'meta' }, [
      element('span', { className: 'sender', text: entry.sender }),
      element('time', { text: clock(entry.time), attributes: { datetime: entry.time.toISOString() } }),
      ...(entry.private ? [element('span', { text: ' · privado' })] : []),
    ]),
    element('span', { className: 'text', text: entry.text }),
  ]);
}
