import { ChatClient, ChatClientError } from '/lib/charla-client.js';
import { ChatState, ROOM, STATUS_WORDS } from './chat-state.js';
import { ChatView } from './chat-view.js';

/**
 * The web client: the typed client library talking to the node that served
 * this page, the state it keeps, and the view that draws it.
 */

/** The protocol's user list has no statuses: they are asked for one by one, for this many users at most. */
const MAX_STATUS_LOOKUPS = 30;

/** Failures the client detects itself, in the language of the rest of the interface. */
const LOCAL_ERRORS = {
  CONNECT_FAILED: 'No se pudo conectar con el servidor',
  NOT_CONNECTED: 'Sin conexión: espera a que vuelva',
  CONNECTION_CLOSED: 'Se perdió la conexión',
  TIMEOUT: 'El servidor no responde',
  NO_ANSWER: 'El servidor no respondió a la petición',
  FRAME_TOO_LARGE: 'Mensaje demasiado largo',
};

const chatUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat`;
const view = new ChatView();

view.onLogin(async (name) => {
  view.loginPending(true);
  const client = new ChatClient({ url: chatUrl, WebSocket });
  try {
    await client.connect();
    const users = await client.register(name);
    view.loginPending(false);
    startChat(client, name, users);
  } catch (err) {
    await client.disconnect();
    view.loginPending(false, describe(err));
  }
});
view.ready();

/** @param {unknown} err */
function describe(err) {
  if (!(err instanceof ChatClientError)) throw err;
  return err.fromServer ? err.message : (LOCAL_ERRORS[err.code] ?? err.message);
}

/** @param {string} timestamp */
function timeOf(timestamp) {
  const time = new Date(timestamp);
  return Number.isNaN(time.getTime()) ? new Date() : time;
}

/**
 * @param {ChatClient} client
 * @param {string} self
 * @param {readonly string[]} users
 */
function startChat(client, self, users) {
  const state = new ChatState(self);
  /** The status this user chose, restored after a reconnection (a new registration starts ACTIVO). */
  let chosenStatus = 'ACTIVO';

  const render = () => {
    view.renderUsers(state, openConversation);
    view.renderTabs(state, openConversation);
    view.renderMessages(state);
  };
  /** @param {string} key */
  function openConversation(key) {
    state.open(key);
    view.showUsers(false);
    render();
  }
  /** @param {string} text @param {{ problem?: boolean, key?: string }} [options] */
  const notice = (text, { problem = false, key = ROOM } = {}) => {
    state.add(key, { kind: 'notice', text, time: new Date(), problem });
  };
  /** @param {unknown} err */
  const showProblem = (err) => {
    notice(describe(err), { problem: true, key: state.active });
    render();
  };
  /**
   * Fills in the statuses of users listed without one, or of every listed
   * user when those known may be stale (after room messages were lost).
   * @param {readonly string[]} names @param {boolean} [refresh]
   */
  const lookUpStatuses = (names, refresh = false) => {
    for (const name of names.filter((user) => user !== self).slice(0, MAX_STATUS_LOOKUPS)) {
      client.userInfo(name).then(
        (info) => {
          if (state.users.has(name) && (refresh || state.users.get(name) === undefined)) state.users.set(name, info.status);
          render();
        },
        (err) => {
          // A user who left meanwhile is announced by their departure notice.
          if (!(err instanceof ChatClientError && err.code === 'USER_NOT_FOUND')) showProblem(err);
        },
      );
    }
  };

  client.on('broadcast', ({ sender, content, timestamp }) => {
    state.add(ROOM, { kind: 'message', sender, text: content, time: timeOf(timestamp), own: sender === self, private: false });
    render();
  });
  client.on('private', ({ sender, target, content, timestamp }) => {
    const key = sender === self ? target : sender;
    state.add(key, { kind: 'message', sender, text: content, time: timeOf(timestamp), own: sender === self, private: true });
    render();
  });
  client.on('status_update', ({ content: { user, status } }) => {
    const change = state.setStatus(user, status);
    if (user === self) {
      view.showOwnStatus(status);
      notice(`Tu estado ahora es ${STATUS_WORDS[status]}`);
    } else if (change === 'joined') {
      notice(`${user} se ha conectado`);
    } else {
      notice(`${user} ahora está ${STATUS_WORDS[status]}`);
    }
    render();
  });
  client.on('user_disconnected', ({ user, content }) => {
    state.remove(user);
    notice(content);
    if (state.conversations.has(user)) notice(content, { key: user });
    render();
  });
  // The node may have lost room messages for this user: say so, and take the list it sends next as who is online.
  let listAfterGap = false;
  client.on('messages_missed', ({ content }) => {
    listAfterGap = true;
    notice(content, { problem: true });
    render();
  });
  client.on('list_users_response', ({ content: names }) => {
    if (!listAfterGap) return;
    listAfterGap = false;
    state.setUsers(names);
    state.users.set(self, state.users.get(self) ?? 'ACTIVO');
    render();
    // Status changes may have been lost with the room messages: ask again for every status shown.
    lookUpStatuses(names, true);
  });
  client.on('error', ({ content }) => {
    notice(content, { problem: true, key: state.active });
    render();
  });
  client.on('reconnecting', ({ attempt }) => {
    view.showConnection('reconnecting', `Reconectando… (intento ${attempt})`);
    // A first attempt usually resumes the session within a second: only the indicator says so.
    if (attempt === 2) {
      notice('Se perdió la conexión; reconectando…', { problem: true });
      render();
    }
  });
  client.on('reconnected', ({ users: names = [], resumed }) => {
    view.showConnection('open', 'Conectado');
    state.setUsers(names);
    lookUpStatuses(names);
    if (resumed) {
      // Nobody saw this user leave, its status stayed, and what was missed has arrived.
      render();
      return;
    }
    state.users.set(self, 'ACTIVO');
    notice('Conexión recuperada');
    render();
    if (chosenStatus !== 'ACTIVO') client.setStatus(chosenStatus).catch(showProblem);
  });
  client.on('closed', ({ deliberate, error }) => {
    if (deliberate) {
      location.reload();
      return;
    }
    view.showConnection('closed', 'Desconectado');
    notice(`Desconectado${error ? `: ${describe(error)}` : ''}`, { problem: true });
    render();
  });

  view.onSend((text) => {
    const target = state.active;
    if (target === ROOM) {
      // The node sends the message back to everyone, this user included: that copy is what appears.
      client.broadcast(text).catch(showProblem);
      return;
    }
    client.sendPrivate(target, text).then(() => {
      if (target !== self) state.add(target, { kind: 'message', sender: self, text, time: new Date(), own: true, private: true });
      render();
    }, showProblem);
  });
  view.onStatusChange((status) => {
    const previous = chosenStatus;
    chosenStatus = status;
    client.setStatus(status).catch((err) => {
      chosenStatus = previous;
      view.showOwnStatus(previous);
      showProblem(err);
    });
  });
  view.onLeave(() => {
    if (client.state === 'closed') location.reload();
    else void client.disconnect();
  });
  // Closing the tab is leaving: everyone hears of it now. Only a lost connection waits for a resume.
  window.addEventListener('pagehide', () => void client.disconnect());

  state.setUsers(users);
  state.users.set(self, 'ACTIVO');
  view.enterChat(self);
  view.showConnection('open', 'Conectado');
  notice(`Hola, ${self}. Escribe para hablar con todos o elige a alguien para un mensaje privado.`);
  render();
  lookUpStatuses(users);
}
