/**
 * Reference for `send`: a bare Fastify POST handler (JSON body parsed, no schema, no logging,
 * no storage) answering what `/send_msg` answers.
 */
import Fastify from 'fastify';
import { announce, listenArgs } from './common.js';

const app = Fastify({ logger: false });
const answer = { code: 0, data: { MsgID: 'EDCZL-SY32-243Y-VWQ' } };

app.post('/send_msg', async () => answer);
app.get('/', async () => 'bare-fastify');

const { port, host } = listenArgs();
const address = await app.listen({ port, host, backlog: 4096 });
announce(address, (done) => {
  void app.close().then(done);
});
