/* A fast Modbus TCP server for the benchmarks: libmodbus, many connections, one process.
 *
 * Serves 10,000 holding and input registers that change on every request, so the client
 * always decodes fresh values. It is never the limit of a Python client: a request costs it a
 * few microseconds. Built by bench/ratio.py (gcc, libmodbus-dev); prints "ready PORT" once it
 * listens on 127.0.0.1.
 *
 * usage: libmodbus_server PORT
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define REGISTERS 10000

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_mapping_t *map = modbus_mapping_new(0, 0, REGISTERS, REGISTERS);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "cannot allocate: %s\n", modbus_strerror(errno));
        return 1;
    }
    int server = modbus_tcp_listen(ctx, 64);
    if (server < 0) {
        fprintf(stderr, "cannot listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    printf("ready %s\n", argv[1]);
    fflush(stdout);

    fd_set all;
    FD_ZERO(&all);
    FD_SET(server, &all);
    int highest = server;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    uint16_t tick = 0;
    for (;;) {
        fd_set ready = all;
        if (select(highest + 1, &ready, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        for (int fd = 0; fd <= highest; fd++) {
            if (!FD_ISSET(fd, &ready)) continue;
            if (fd == server) {
                int client = accept(server, NULL, NULL);
                if (client >= 0) {
                    FD_SET(client, &all);
                    if (client > highest) highest = client;
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int length = modbus_receive(ctx, query);
            if (length > 0) {
                tick++;
                for (int i = 0; i < 128; i++) {
                    map->tab_registers[i] = (uint16_t)(tick + i);
                    map->tab_input_registers[i] = (uint16_t)(tick * 3 + i);
                }
                modbus_reply(ctx, query, length, map);
            } else if (length < 0) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
}
