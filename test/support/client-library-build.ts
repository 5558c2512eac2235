export { buildWebClient as buildClientLibrary } from '../../scripts/build-web-client.js';
