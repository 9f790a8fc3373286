/**
 * A TCP forwarder in front of a real PostgreSQL server that counts the connections made through
 * it: the proof that a client opened none (or some). It forwards bytes and knows nothing of the
 * protocol.
 */
import net from 'node:net';

export interface CountingProxy {
  url: string;
  connections(): number;
  close(): Promise<void>;
}

export async function countingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((client) => {
    count += 1;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    connections: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
