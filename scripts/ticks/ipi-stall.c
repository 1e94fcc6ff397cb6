/* A busy-loop on CPU 1 timing its own gaps, with or without call-function IPIs from CPU 0 (scripts/ticks/ipi-stall.sh). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
static atomic_int stop; static atomic_long sends;
static long now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000L+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static int mode;
static void* sender(void*a){pin(0);long next=now();
 while(!stop){ if(mode){ void*p=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); *(volatile char*)p=1; munmap(p,4096); sends++; }
   next+=200000; while(now()<next && !stop); } return 0;}
int main(int argc,char**argv){ mode=atoi(argv[1]); long dur=2000000000L; pthread_t th; pin(1);
 // make the mm active on cpu0 too
 pthread_create(&th,0,sender,0);
 long hist[12]={0}; long gapsum[12]={0}; long t0=now(),prev=t0,t; long lost=0;
 while((t=now())-t0<dur){ long g=t-prev; prev=t; if(g>1000){ int b= g<2000?0: g<5000?1: g<10000?2: g<20000?3: g<30000?4: g<40000?5: g<60000?6: g<100000?7: g<1000000?8:9; hist[b]++; gapsum[b]+=g; lost+=g;} }
 stop=1; pthread_join(th,0);
 const char*n[]={"1-2us","2-5","5-10","10-20","20-30","30-40","40-60","60-100","100-1000",">1ms"};
 printf("mode %d sends %ld (%.0f/s); time in gaps >1us: %.2f%%\n",mode,(long)sends,sends/2.0,100.0*lost/dur);
 for(int i=0;i<10;i++) if(hist[i]) printf("  %-9s %7ld  %.2f%% of time\n",n[i],hist[i],100.0*gapsum[i]/dur);
}
